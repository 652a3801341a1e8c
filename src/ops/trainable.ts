/**
 * The op table's "trainable" column: which ONNX ops (default domain) the tfjs executor can
 * run inside a training step, and how. Data only — the kernels live in src/runtime/tfjs/,
 * and the lead merges this record into the op table.
 * - exact: forward equals onnxruntime's, gradient is the true one;
 * - fake-quant: QuantizeLinear/DequantizeLinear round in the forward and pass the gradient
 *   straight through (zero outside the representable range);
 * - frozen: runs in the forward but carries no gradient (shapes, casts, comparisons).
 * `params` lists the input positions whose float initializers train (a size-1 constant is
 * a hyperparameter such as an epsilon or GELU's 0.5, and never trains).
 */
import type { TrainableSpec } from './types.ts';

const exact = (params?: number[]): TrainableSpec => (params ? { trainable: 'exact', params } : { trainable: 'exact' });
const frozen: TrainableSpec = { trainable: 'frozen' };

export const TRAINABLE: Readonly<Record<string, TrainableSpec>> = {
  // conv / matmul
  Conv: exact([1, 2]),
  ConvTranspose: exact([1, 2]),
  Gemm: exact([0, 1, 2]),
  MatMul: exact([0, 1]),
  // element-wise (a bias or scale stored as an initializer trains)
  Add: exact([0, 1]),
  Sub: exact([0, 1]),
  Mul: exact([0, 1]),
  Div: exact([0, 1]),
  Pow: exact(),
  Sqrt: exact(),
  Exp: exact(),
  Log: exact(),
  Neg: exact(),
  Abs: exact(),
  Reciprocal: exact(),
  Erf: exact(),
  Max: exact(),
  Min: exact(),
  // activations
  Relu: exact(),
  LeakyRelu: exact(),
  PRelu: exact([1]),
  Clip: exact(),
  Sigmoid: exact(),
  Tanh: exact(),
  HardSigmoid: exact(),
  HardSwish: exact(),
  Gelu: exact(),
  Elu: exact(),
  Softplus: exact(),
  Softmax: exact(),
  LogSoftmax: exact(),
  // normalization (BatchNormalization trains in train mode: batch statistics, running stats updated)
  BatchNormalization: exact([1, 2]),
  LayerNormalization: exact([1, 2]),
  // pooling / reduction
  MaxPool: exact(),
  AveragePool: exact(),
  GlobalAveragePool: exact(),
  GlobalMaxPool: exact(),
  ReduceMean: exact(),
  ReduceSum: exact(),
  // shape (gradients route values back to where they came from)
  Reshape: exact(),
  Flatten: exact(),
  Transpose: exact(),
  Concat: exact(),
  Slice: exact(),
  Squeeze: exact(),
  Unsqueeze: exact(),
  Pad: exact(),
  Identity: exact(),
  Split: exact(),
  Gather: exact(),
  // Dropout is the identity here: training stays deterministic (same seed, same bytes)
  Dropout: exact(),
  Constant: frozen,
  Shape: frozen,
  Cast: frozen,
  // quantization
  QuantizeLinear: { trainable: 'fake-quant' },
  DequantizeLinear: { trainable: 'fake-quant' },
};

export function trainableSpec(opType: string, domain = ''): TrainableSpec | undefined {
  if (domain !== '' && domain !== 'ai.onnx') return undefined;
  return Object.hasOwn(TRAINABLE, opType) ? TRAINABLE[opType] : undefined;
}
