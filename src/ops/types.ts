/**
 * The op table's contract. One entry per op, shared by shape inference, `inspect`, the
 * quantizer, channel pruning and (as their columns fill) the trainable executor and the
 * TFLite exporter, so they can never disagree about what an op is or whether it is supported.
 * A column left out means "no": not quantizable, blocks channels, no known layout …
 */
import type { Node } from '../ir/node.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { Dim, TensorType } from '../ir/value.ts';

export type OpCategory =
  | 'conv'
  | 'matmul'
  | 'elementwise'
  | 'activation'
  | 'pool'
  | 'normalization'
  | 'shape'
  | 'resample'
  | 'signal'
  | 'reduce'
  | 'quantization'
  | 'control'
  | 'recurrent'
  | 'constant';

/** What the `value` column reads: an op's inputs' types and propagated values. */
export interface ValueContext {
  readonly node: Node;
  /** Input types (undefined where unknown or the input is omitted). */
  readonly inputs: readonly (TensorType | undefined)[];
  /** The values of input `i` (flattened) when known: integer constants, or propagated from a shape computation. */
  value(i: number): Dim[] | undefined;
}

export interface InferContext extends ValueContext {
  /** The value of input `i` when it is a constant (initializer or Constant output). */
  constant(i: number): Tensor | undefined;
  readonly opset: number;
}

/**
 * How an op takes part in int8 quantization:
 * - weighted: Conv / MatMul / Gemm with a constant weight (per-channel int8) and bias (int32);
 *   a MatMul of two activations is planned as `matmul` (both per tensor).
 * - binary: Add / Mul (QLinearAdd / QLinearMul).
 * - pool: AveragePool / GlobalAveragePool (own output range).
 * - unary: Sigmoid / LeakyRelu / Softmax (own output range).
 * - preserving: output values are input values (Reshape, MaxPool, Transpose …): one shared range.
 * - concat: Concat; shares its inputs' range when that costs at most one bit, else requantizes.
 * - activation: Relu / Clip, folded into the range of the node before them.
 */
export type QuantKind = 'weighted' | 'matmul' | 'binary' | 'pool' | 'unary' | 'preserving' | 'concat' | 'activation';

/**
 * How the channels of an activation flow through an op, for structured pruning. A channel
 * map is "which axis holds the channels, and which global channel sits at each position";
 * an op without a rule stops the channels that reach it (they are kept).
 * - same: every output carries the input's channels where they were (activations, casts).
 * - broadcast: numpy-broadcast inputs; channels meeting at one position are joined, a
 *   constant operand along them is sliced.
 * - concat: channels are laid end to end along the concatenation axis (else as broadcast).
 * - per-channel-params: BatchNormalization-like; the weight inputs are sliced with channels on axis 1.
 * - pool: channels must stay on axis 1, the spatial axes are pooled.
 * - normalize-from-axis: LayerNormalization; channels must sit before `axis`.
 * - softmax: softmax-like along `axis`; channels must not be on it.
 * - reduce: Reduce*; channels must not be reduced, the axis moves when dims are dropped.
 * - reshape / flatten: followed while the channel axis stays whole (a Reshape target must be constant).
 * - transpose / squeeze / unsqueeze: the channel axis moves with the permutation or axes.
 * - split / slice / pad: allowed while they leave the channel axis whole.
 * - resize (scales at input 2, sizes at 3) / upsample (scales at input 1): must not scale channels.
 * - shape-only: reads only the input's shape; channels do not flow on (Shape, Size).
 */
export type ChannelRule =
  | 'same'
  | 'broadcast'
  | 'concat'
  | 'per-channel-params'
  | 'pool'
  | 'normalize-from-axis'
  | 'softmax'
  | 'reduce'
  | 'reshape'
  | 'flatten'
  | 'transpose'
  | 'squeeze'
  | 'unsqueeze'
  | 'split'
  | 'slice'
  | 'pad'
  | 'resize'
  | 'upsample'
  | 'shape-only';

export interface WeightLayout {
  /** Axis of W indexed by output channel / neuron. */
  outAxis: number;
  /** Axis of W indexed by input channel / feature (within a group for grouped Conv). */
  inAxis: number;
}

/** Where the channels are for an op with a weight (input 1) that maps input channels to output channels. */
export interface LayerLayout {
  /** The layout of a weight of rank `rank`, or undefined for weights pruning does not handle. */
  readonly weight: (node: Node, rank: number) => WeightLayout | undefined;
  /** The axis of the data input (input 0, of rank `rank` when known) that the weight reduces; -1 when unknown. */
  readonly inputChannelAxis: (node: Node, rank: number | undefined) => number;
  /** The axis of output 0 (of rank `rank`, 0 when unknown) that holds the output channels. */
  readonly outputChannelAxis: (rank: number) => number;
  /** Group count (grouped Conv: the channels of a group go together); 1 when absent. */
  readonly groups?: (node: Node) => number;
}

/**
 * Whether and how the trainable executor runs an op (data from ./trainable.ts):
 * - exact: forward equals onnxruntime's, gradient is the true one;
 * - fake-quant: Q/DQ round in the forward, straight-through gradient;
 * - frozen: runs in the forward, carries no gradient.
 */
export type Trainability = 'exact' | 'fake-quant' | 'frozen';

export interface TrainableSpec {
  readonly trainable: Trainability;
  /** Input positions whose float initializers train. */
  readonly params?: readonly number[];
}

/** What the ONNX specs say about an op's inputs (data in ./inputs.ts); positions are input indices. */
export interface InputFacts {
  /** Leading inputs that must be present (not omitted as ''); 'all': every input of a variadic op. */
  readonly required?: number | 'all';
  /** Fewest and most inputs the op has taken in any opset. */
  readonly min?: number;
  readonly max?: number;
  /** Operands are numbers: no string or bool tensor. */
  readonly numeric?: boolean;
  /** Inputs that share one type parameter T. */
  readonly sameType?: 'all' | readonly number[];
  /** Inputs that must hold int64 values (shapes) when given as constants. */
  readonly int64?: readonly number[];
  /** Divisor inputs: an integer 0 there is an error, not a value. */
  readonly divisor?: readonly number[];
  /** Inputs whose values decide shapes or axes (Reshape's shape, Slice's starts …). */
  readonly structural?: readonly number[];
  /** An index input (`slot`) into the input `table`, along the axis attribute `axisAttr` (default axis 0). */
  readonly index?: { readonly slot: number; readonly table: number; readonly axisAttr?: string };
  /** Inputs the op multiplies (or divides by): NaN or ±Infinity there is refused in a weight. */
  readonly multiplied?: readonly number[];
  /** Hands input 0's values on converted (Cast); value-preserving ops (the table's column) hand them on as they are. */
  readonly convertsValues?: boolean;
}

import type { TfliteMapping } from './tflite.ts';

export type { TfliteMapping };

export interface OpSpec {
  readonly op: string;
  /** '' for the default ONNX domain. */
  readonly domain: string;
  readonly category: OpCategory;
  /** Output types from input types; absent means outputs keep whatever the model declares. */
  readonly infer?: (ctx: InferContext) => (TensorType | undefined)[];
  /**
   * Output values are input values rearranged or selected (Reshape, Transpose, MaxPool …):
   * a quantization range can pass through unchanged, so the int8 quantizer handles it as
   * `preserving` unless `quant` says otherwise.
   */
  readonly valuePreserving?: boolean;
  /** Input positions that hold learnable weights when they are constants. */
  readonly weightInputs?: readonly number[];
  /** Free of side effects and randomness, so constant inputs make a constant output. */
  readonly foldable?: boolean;
  /**
   * The values of output 0 when it is a small integer tensor (a shape computation), from its
   * inputs' values and shapes; free sizes stay symbolic (data propagation, merged from
   * ./shape-values.ts).
   */
  readonly value?: (ctx: ValueContext) => Dim[] | undefined;
  /** The opset from which `axes` is an input instead of an attribute (Reduce*, Squeeze, Unsqueeze). */
  readonly axesInputSince?: number;

  /** How the int8 quantizer treats it (default-domain ops only). */
  readonly quant?: QuantKind;
  /** Quantizable, but only when asked for (`opTypes`): its output is sensitive and cheap in float. */
  readonly quantOptIn?: boolean;
  /** onnxruntime's CPU provider runs it on int8/uint8 tensors as they are (QOperator format needs that). */
  readonly int8Native?: boolean;
  /** Inputs that carry the values a value-preserving op passes on: 'all', or positions (default [0]). */
  readonly dataInputs?: 'all' | readonly number[];
  /** onnxruntime propagates a Q/DQ pair through it (its versions from opset 13 on). */
  readonly qdqPropagated?: boolean;
  /** The integer kernel the QOperator format writes in its place (QLinearConv, com.microsoft QGemm …). */
  readonly qoperator?: { readonly op: string; readonly domain: string };
  /** onnxruntime has an int8 kernel with a float output for it (MatMulIntegerToFloat, QGemm). */
  readonly int8FloatOutput?: boolean;
  /** onnxruntime quantizes its float weight itself at load when its input is dequantized (WeightBiasQuantization). */
  readonly ortQuantizesWeight?: boolean;
  /**
   * Dynamic int8 stores these constant float weight inputs as int8 codes read back by a
   * DequantizeLinear (weight-only: the op itself runs in float), one scale per slice along
   * `axis(node, rank of the weight)` (undefined: one per tensor). For an op with a
   * `dynamicInteger` form it is the lower rung: SQNR fallback moves a layer there first.
   */
  readonly weightOnly?: { readonly inputs: readonly number[]; readonly axis: (node: Node, rank: number) => number | undefined };
  /**
   * Dynamic int8 runs it as this integer op (input quantized at run time, int8 weights):
   * MatMulInteger for MatMul/Gemm and ConvInteger for Conv (after DynamicQuantizeLinear,
   * rescaled by Cast → Mul), com.microsoft DynamicQuantizeLSTM for LSTM — measured faster in
   * onnxruntime than weight-only DequantizeLinear (docs/passes/quantize.md). Where it cannot
   * apply, `weightOnly` does.
   */
  readonly dynamicInteger?: 'MatMulInteger' | 'ConvInteger' | 'DynamicQuantizeLSTM';
  /** Reads or writes quantized integer tensors (Q/DQ, QLinearConv, MatMulInteger …): its model is quantized already. */
  readonly quantized?: boolean;

  /** How activation channels flow through it (structured pruning); absent stops them. */
  readonly channels?: ChannelRule;
  /** The weight and channel axes of a layer that pruning can shrink. */
  readonly layer?: LayerLayout;

  /** Facts about its inputs from the ONNX specs, merged from ./inputs.ts. */
  readonly inputs?: InputFacts;

  /** The trainable executor's support, merged from ./trainable.ts. */
  readonly trainable?: TrainableSpec;
  /** The TFLite mapping, merged from ./tflite.ts; null: known to have none. */
  readonly tflite?: TfliteMapping | null;
}

export type { Dim, TensorType };
