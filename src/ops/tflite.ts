/**
 * The op table's TFLite column: which builtin operator(s) each ONNX op becomes, the layout
 * it needs, whether an int8 kernel exists, and the operator version a given signature
 * needs (tensorflow/lite/tools/versioning/op_version.cc, GetBuiltinOperatorVersion, for the
 * types this exporter writes). Data only: the lowering functions live in src/tflite/lower.
 */

/** Element types the exporter writes, as op_version.cc sees them. */
export type TflElement = 'float32' | 'float16' | 'int8' | 'int32' | 'int64';

/**
 * 'nhwc': reads and writes channels-last activations (convolutions, pools, resize).
 * 'any': elementwise, follows whatever layout its input has.
 * 'plain': needs the ONNX dimension order (reshape, matmul …), so an NHWC input is transposed back first.
 */
export type TflLayoutNeed = 'nhwc' | 'any' | 'plain';

export interface TfliteMapping {
  /** Builtins the op lowers onto; the first is the main one. */
  readonly builtins: readonly string[];
  readonly layout: TflLayoutNeed;
  /** An int8 kernel exists, so the op can stay int8 in a full-int8 export. */
  readonly int8: boolean;
  /** Lowered onto several builtins (LayerNorm, BatchNorm …) rather than mapped one to one. */
  readonly lowered?: boolean;
}

const m = (builtins: string[], layout: TflLayoutNeed, int8: boolean, lowered = false): TfliteMapping => ({ builtins, layout, int8, ...(lowered ? { lowered } : {}) });

/** Keyed by ONNX op type (default domain). An op absent here is refused with `unsupported-op`. */
export const TFLITE_OPS: Readonly<Record<string, TfliteMapping>> = {
  Conv: m(['CONV_2D', 'DEPTHWISE_CONV_2D'], 'nhwc', true),
  ConvTranspose: m(['TRANSPOSE_CONV'], 'nhwc', true),
  Gemm: m(['FULLY_CONNECTED'], 'plain', true),
  MatMul: m(['FULLY_CONNECTED', 'BATCH_MATMUL'], 'plain', true),
  Add: m(['ADD'], 'any', true),
  Sub: m(['SUB'], 'any', true),
  Mul: m(['MUL'], 'any', true),
  Div: m(['DIV'], 'any', false),
  Relu: m(['RELU'], 'any', true),
  Clip: m(['RELU6', 'RELU', 'RELU_N1_TO_1'], 'any', true),
  LeakyRelu: m(['LEAKY_RELU'], 'any', true),
  Sigmoid: m(['LOGISTIC'], 'any', true),
  Tanh: m(['TANH'], 'any', true),
  HardSwish: m(['HARD_SWISH'], 'any', true),
  Gelu: m(['GELU'], 'any', true),
  MaxPool: m(['MAX_POOL_2D'], 'nhwc', true),
  AveragePool: m(['AVERAGE_POOL_2D'], 'nhwc', true),
  GlobalAveragePool: m(['MEAN'], 'nhwc', true),
  GlobalMaxPool: m(['REDUCE_MAX'], 'nhwc', true),
  ReduceMean: m(['MEAN'], 'any', true),
  ReduceSum: m(['SUM'], 'any', true),
  Reshape: m(['RESHAPE'], 'plain', true),
  Flatten: m(['RESHAPE'], 'plain', true),
  Squeeze: m(['SQUEEZE', 'RESHAPE'], 'plain', true),
  Unsqueeze: m(['EXPAND_DIMS', 'RESHAPE'], 'plain', true),
  Concat: m(['CONCATENATION'], 'any', true),
  Pad: m(['PAD'], 'any', true),
  Slice: m(['SLICE', 'STRIDED_SLICE'], 'any', true),
  Transpose: m(['TRANSPOSE'], 'plain', true),
  Softmax: m(['SOFTMAX'], 'plain', true),
  QuantizeLinear: m(['QUANTIZE'], 'any', true),
  DequantizeLinear: m(['DEQUANTIZE'], 'any', true),
  Resize: m(['RESIZE_BILINEAR', 'RESIZE_NEAREST_NEIGHBOR'], 'nhwc', true),
  BatchNormalization: m(['MUL', 'ADD'], 'any', false, true),
  LayerNormalization: m(['MEAN', 'SUB', 'MUL', 'ADD', 'RSQRT'], 'plain', false, true),
  Identity: m([], 'any', true, true),
  Dropout: m([], 'any', true, true),
};

export interface TflOpSignature {
  readonly inputs: readonly TflElement[];
  readonly outputs: readonly TflElement[];
  /** Rank of each input. */
  readonly ranks: readonly number[];
  /** Whether input shapes differ (binary ops broadcast). */
  readonly broadcast?: boolean;
  /** Weights carry one scale per output channel. */
  readonly perChannel?: boolean;
  readonly keepNumDims?: boolean;
  readonly dilated?: boolean;
  readonly halfPixelCenters?: boolean;
  readonly alignCorners?: boolean;
  /** TRANSPOSE_CONV: a bias input is present. */
  readonly hasBias?: boolean;
  /** MUL: input1 scale × input2 scale / output scale, for int8. */
  readonly mulRescale?: number;
}

/** The builtin operator version a signature needs (op_version.cc, for float32/float16/int8/int32 tensors). */
export function tfliteOpVersion(op: string, s: TflOpSignature): number {
  const in0 = s.inputs[0];
  const in1 = s.inputs[1];
  const out0 = s.outputs[0];
  const int8 = in0 === 'int8';
  const hybrid = in0 === 'float32' && in1 === 'int8' && out0 === 'float32';
  const maxRank = Math.max(0, ...s.ranks);
  switch (op) {
    case 'CONV_2D':
      if (int8 && in1 === 'int8' && out0 === 'int8') return 3;
      if (hybrid) return s.perChannel ? 5 : 2;
      return 1;
    case 'DEPTHWISE_CONV_2D':
      if (hybrid) return s.perChannel ? 6 : 4;
      if (int8 && in1 === 'int8' && out0 === 'int8') return 3;
      return s.dilated ? 2 : 1;
    case 'FULLY_CONNECTED':
      if (hybrid && s.perChannel) return 12;
      if (s.inputs.length === 2) return 6;
      if (s.keepNumDims) return 5;
      if (int8 && in1 === 'int8' && out0 === 'int8') return 4;
      if (hybrid) return 3;
      return 1;
    case 'TRANSPOSE_CONV':
      if (s.hasBias) return 3;
      return in1 === 'int8' ? 2 : 1;
    case 'MUL':
      if (int8 && s.mulRescale !== undefined && s.mulRescale >= 1) return 3;
      return int8 ? 2 : 1;
    case 'SUB':
      if (s.broadcast && maxRank > 4) return 3;
      return int8 ? 2 : 1;
    case 'DIV':
      return s.broadcast && maxRank > 4 ? 2 : 1;
    case 'MAXIMUM':
    case 'MINIMUM':
      if (s.broadcast && maxRank > 4) return 3;
      return int8 ? 2 : 1;
    case 'TRANSPOSE':
      if (maxRank > 5) return 6;
      if (maxRank > 4) return 4;
      return int8 ? 2 : 1;
    case 'PAD':
    case 'PADV2':
      if (maxRank > 4) return 4;
      return int8 ? 2 : 1;
    case 'SLICE':
      if (maxRank > 4) return 5;
      return int8 ? 2 : 1;
    case 'STRIDED_SLICE':
      if (maxRank > 4) return 4;
      return int8 ? 2 : 1;
    case 'RESIZE_BILINEAR':
      if (s.halfPixelCenters) return 3;
      return int8 ? 2 : 1;
    case 'RESIZE_NEAREST_NEIGHBOR':
      if (s.halfPixelCenters || s.alignCorners) return 3;
      return int8 ? 2 : 1;
    case 'DEQUANTIZE':
      if (in0 === 'float16') return 3;
      if (int8) return s.perChannel ? 5 : 2;
      return 1;
    case 'QUANTIZE':
      return s.perChannel ? 3 : 1;
    case 'ADD':
    case 'RELU':
    case 'LOGISTIC':
    case 'TANH':
    case 'MAX_POOL_2D':
    case 'AVERAGE_POOL_2D':
    case 'CONCATENATION':
    case 'SOFTMAX':
    case 'MEAN':
    case 'REDUCE_MAX':
    case 'RELU6':
    case 'RSQRT':
    case 'SUM':
    case 'GELU':
    case 'BATCH_MATMUL':
      return int8 ? 2 : 1;
    default:
      // RESHAPE, SQUEEZE, EXPAND_DIMS, LEAKY_RELU, HARD_SWISH, RELU_N1_TO_1: version 1 for these types.
      return 1;
  }
}
