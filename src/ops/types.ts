/**
 * The op table's contract. One entry per op, shared by shape inference, `inspect`, the
 * passes and (later) the trainable executor and the TFLite exporter, so they can never
 * disagree about what an op is or whether it is supported.
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
  | 'reduce'
  | 'quantization'
  | 'control'
  | 'constant';

export interface InferContext {
  readonly node: Node;
  /** Input types (undefined where unknown or the input is omitted). */
  readonly inputs: readonly (TensorType | undefined)[];
  /** The value of input `i` when it is a constant (initializer or Constant output). */
  constant(i: number): Tensor | undefined;
  readonly opset: number;
}

export interface OpSpec {
  readonly op: string;
  /** '' for the default ONNX domain. */
  readonly domain: string;
  readonly category: OpCategory;
  /** Output types from input types; absent means outputs keep whatever the model declares. */
  readonly infer?: (ctx: InferContext) => (TensorType | undefined)[];
  /**
   * Output values are input values rearranged or selected (Reshape, Transpose, MaxPool …):
   * a quantization range can pass through unchanged.
   */
  readonly valuePreserving?: boolean;
  /** Input positions that hold learnable weights when they are constants. */
  readonly weightInputs?: readonly number[];
  /** Free of side effects and randomness, so constant inputs make a constant output. */
  readonly foldable?: boolean;
}

export type { Dim, TensorType };
