/**
 * How each op takes part in int8 quantization. Derived from the op table where it can be
 * (value-preserving ops come from `valuePreserving`), so the quantizer and the rest of the
 * toolchain agree on what an op is.
 */
import type { Node } from '../ir/node.ts';
import { OPS, opSpec } from '../ops/registry.ts';

/**
 * - weighted: Conv / MatMul / Gemm with a constant weight (per-channel int8) and bias (int32).
 * - matmul: MatMul of two activations (both per-tensor).
 * - binary: Add / Mul (QLinearAdd / QLinearMul).
 * - pool: AveragePool / GlobalAveragePool (own output range).
 * - unary: Sigmoid / LeakyRelu / Softmax (own output range).
 * - preserving: output values are input values (Reshape, MaxPool, Transpose …): one shared range.
 * - concat: Concat; shares its inputs' range when that costs at most one bit, else requantizes.
 * - activation: Relu / Clip, folded into the range of the node before them.
 */
export type QuantKind = 'weighted' | 'matmul' | 'binary' | 'pool' | 'unary' | 'preserving' | 'concat' | 'activation';

const KINDS: Readonly<Record<string, QuantKind>> = {
  Conv: 'weighted',
  MatMul: 'weighted',
  Gemm: 'weighted',
  Add: 'binary',
  Mul: 'binary',
  AveragePool: 'pool',
  GlobalAveragePool: 'pool',
  Sigmoid: 'unary',
  LeakyRelu: 'unary',
  Softmax: 'unary',
  Relu: 'activation',
  Clip: 'activation',
  Concat: 'concat',
};

export function quantKind(node: Pick<Node, 'opType' | 'domain'>): QuantKind | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  const k = KINDS[node.opType];
  if (k) return k;
  return opSpec(node)?.valuePreserving ? 'preserving' : undefined;
}

/** Value-preserving ops onnxruntime's CPU provider runs on int8/uint8 tensors as they are. */
export const INT8_NATIVE = new Set(['MaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Concat', 'Gather', 'Slice', 'Split', 'Identity', 'Expand', 'Tile']);

/** Inputs of a value-preserving op that carry the values (the rest are shapes, indices, axes). */
export function dataInputs(node: Node): number[] {
  return node.opType === 'Concat' ? node.inputs.map((_, i) => i) : [0];
}

/** Every op type the int8 quantizer can handle. */
export const SUPPORTED_OP_TYPES: readonly string[] = [
  ...Object.keys(KINDS),
  ...OPS.filter((s) => s.valuePreserving && s.domain === '').map((s) => s.op),
];

/**
 * Quantized by default: the compute layers, residual adds, pools, ReLU/Clip (folded) and every
 * value-preserving op. Sigmoid, LeakyRelu and Softmax are opt-in (`opTypes`): their outputs
 * are sensitive and cheap to compute in float.
 */
export const DEFAULT_OP_TYPES: readonly string[] = SUPPORTED_OP_TYPES.filter((op) => !['Sigmoid', 'LeakyRelu', 'Softmax'].includes(op));

/** Ops that run the arithmetic of a network (what fallback and sensitivity rank). */
export function isLayer(kind: QuantKind): boolean {
  return kind !== 'preserving' && kind !== 'concat' && kind !== 'activation';
}
