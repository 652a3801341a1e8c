/**
 * The `.tflite` model as the writer takes it and the reader returns it: plain objects that
 * mirror schema.fbs (one subgraph), with buffers inlined in their tensors.
 */
import type { BuiltinOperator, BuiltinOptions, TensorType } from './generated/schema.ts';

export type TflTensorType = keyof typeof TensorType;
export type TflOpName = keyof typeof BuiltinOperator;
export type TflOptionsName = keyof typeof BuiltinOptions;

export interface TflQuantization {
  scale: number[];
  zeroPoint: number[];
  /** The axis the scales run along (per-axis quantization); 0 when per tensor. */
  axis?: number;
  min?: number[];
  max?: number[];
}

export interface TflTensor {
  name: string;
  shape: number[];
  type: TflTensorType;
  /** Constant contents, little-endian; absent for activations. */
  data?: Uint8Array;
  quantization?: TflQuantization;
  /** -1 where a dimension is free (the batch, say). */
  shapeSignature?: number[];
}

/** One field of an options table: its slot in declaration order, its wire type, its value. */
export type TflField =
  | { slot: number; kind: 'int8' | 'bool' | 'int32' | 'float32'; value: number | boolean }
  | { slot: number; kind: 'int32s'; value: readonly number[] };

export interface TflOptions {
  name: TflOptionsName;
  fields: TflField[];
}

export interface TflOperator {
  op: TflOpName;
  version: number;
  /** Tensor indices; -1 for an omitted optional input. */
  inputs: number[];
  outputs: number[];
  options?: TflOptions;
}

export interface TflModel {
  description: string;
  tensors: TflTensor[];
  inputs: number[];
  outputs: number[];
  operators: TflOperator[];
}
