/** The data set interface every source (npz, npy folder, image folder) implements. */
import { InputError } from '../errors.ts';
import type { NpArray, NpDtype } from './npy.ts';
import type { TypedArray } from '../onnx/dtype.ts';

export interface ArrayInfo {
  dtype: NpDtype;
  /** Full shape; the first dimension is the sample count. */
  shape: number[];
}

export interface Batch {
  /** Index of the batch's first sample in the data set. */
  start: number;
  /** Samples, C order, in the dtype of `Dataset.x` (int64 as BigInt64Array, float16 as raw bits). */
  x: TypedArray;
  /** Shape of `x`: [samples in this batch, ...x.shape.slice(1)]. */
  shape: number[];
  /** Targets for the same samples, in the dtype of `Dataset.y`. */
  y?: TypedArray;
  /** Every array of `Dataset.arrays` for the same samples, by name (x among them). */
  arrays?: Record<string, TypedArray>;
}

export interface Dataset {
  readonly path: string;
  /** The samples a single-input model is fed: the array named x, else the first array. */
  readonly x: ArrayInfo;
  readonly y?: ArrayInfo;
  /**
   * Every per-sample array except the labels, by name (npz keys, `<name>.npy` in a folder):
   * a model with several inputs is fed each input from the array of its name. Absent: x alone.
   */
  readonly arrays?: Readonly<Record<string, ArrayInfo>>;
  /** Values fed whole to every run, by input name: 0-d npz arrays and `--input-value`s. */
  readonly constants?: Readonly<Record<string, NpArray>>;
  readonly length: number;
  /** Class names of an image folder, indexed by label. */
  readonly classes?: string[];
  /** Batches in order; the last may be short. `limit` caps the number of samples. */
  batches(batchSize: number, opts?: { limit?: number }): AsyncIterable<Batch>;
  close(): Promise<void>;
}

/** Samples a `batches` call yields; also validates its arguments. */
export function batchTotal(length: number, batchSize: number, limit?: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`batch size must be a positive integer (got ${batchSize})`);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) throw new InputError(`sample limit must be a non-negative integer (got ${limit})`);
  return Math.min(length, limit ?? length);
}
