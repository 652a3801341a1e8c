/**
 * Data sets for calibration and evaluation: an `.npz` with arrays x (and optionally y), a
 * `.npy` (x only), a folder of x.npy/y.npy, or a class-per-folder image set. Every source
 * is read one batch at a time, so memory does not grow with the data set.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { fromHalfBits } from '../math/float16.ts';
import { batchTotal, type Batch, type Dataset } from './batch.ts';
import { openImageFolder, type ImageSpec } from './images.ts';
import type { TypedArray } from '../onnx/dtype.ts';
import { elementCount, type NpDtype, type NpyHeader } from './npy.ts';
import { Npz } from './npz.ts';
import { NpyFile, type RowReader } from './stream.ts';

export type { ArrayInfo, Batch, Dataset } from './batch.ts';
export type { ImageSpec } from './images.ts';

export interface OpenDatasetOptions {
  /** Name of the input array in an .npz, or of `<name>.npy` in a folder. Default 'x'. */
  x?: string;
  /** Name of the target array. Default 'y'; it is optional in the data set. */
  y?: string;
  /** Preprocessing for an image folder. */
  image?: ImageSpec;
}

interface ArraySource {
  header: NpyHeader;
  rows(): Promise<RowReader> | RowReader;
}

/** Opens a data set by path; throws InputError naming the file when it cannot be used. */
export async function openDataset(path: string, opts: OpenDatasetOptions = {}): Promise<Dataset> {
  const xName = opts.x ?? 'x';
  const yName = opts.y ?? 'y';
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new InputError(`${path}: no such file or directory`);
  if (info.isDirectory()) {
    const names = new Set(await readdir(path));
    if (!names.has(`${xName}.npy`)) return openImageFolder(path, opts.image);
    const x = await NpyFile.open(join(path, `${xName}.npy`));
    let y: NpyFile | undefined;
    const close = async () => {
      await x.close();
      await y?.close();
    };
    try {
      if (names.has(`${yName}.npy`)) y = await NpyFile.open(join(path, `${yName}.npy`));
      return arrayDataset(path, x, y, xName, yName, close);
    } catch (err) {
      await close();
      throw err;
    }
  }
  if (path.toLowerCase().endsWith('.npy')) {
    const x = await NpyFile.open(path);
    try {
      return arrayDataset(path, x, undefined, xName, yName, () => x.close());
    } catch (err) {
      await x.close();
      throw err;
    }
  }
  const npz = await Npz.open(path);
  try {
    const x = { header: npz.header(xName), rows: () => npz.rows(xName) };
    const y = npz.has(yName) ? { header: npz.header(yName), rows: () => npz.rows(yName) } : undefined;
    return arrayDataset(path, x, y, xName, yName, () => npz.close());
  } catch (err) {
    await npz.close();
    throw err;
  }
}

function arrayDataset(path: string, xs: ArraySource, ys: ArraySource | undefined, xName: string, yName: string, close: () => Promise<void>): Dataset {
  const x = { dtype: xs.header.dtype, shape: xs.header.shape };
  const y = ys && { dtype: ys.header.dtype, shape: ys.header.shape };
  const length = x.shape[0];
  if (length === undefined) throw new InputError(`${path}: ${xName} is a scalar; it needs a first (sample) dimension`);
  if (y !== undefined && y.shape[0] !== length) {
    throw new InputError(`${path}: ${yName} has ${y.shape[0] ?? 'no'} samples but ${xName} has ${length}`);
  }
  return {
    path,
    x,
    ...(y && { y }),
    length,
    async *batches(batchSize: number, opts: { limit?: number } = {}): AsyncGenerator<Batch> {
      const total = batchTotal(length, batchSize, opts.limit);
      const xr = await xs.rows();
      const yr = await ys?.rows();
      try {
        for (let start = 0; start < total; start += batchSize) {
          const n = Math.min(batchSize, total - start);
          const [xb, yb] = await Promise.all([xr.read(n), yr?.read(n)]);
          yield { start, x: xb, shape: [n, ...x.shape.slice(1)], ...(yb && { y: yb }) };
        }
      } finally {
        await xr.close();
        await yr?.close();
      }
    },
    close,
  };
}

/** A model input as the runtime describes it; string or negative dims are symbolic. */
export interface ModelInputSpec {
  name: string;
  dtype: string;
  shape: readonly (number | string)[];
}

/**
 * Throws InputError unless batches of `ds.x` can be fed to `input`. The rule is strict, no
 * implicit reshape: same rank, and every dimension after the first equal unless the model's
 * is symbolic. The first (sample) dimension is not compared: a fixed model batch only limits
 * the batch size the caller picks. A float32 input accepts any numeric x (see `toFloat32`);
 * other input types need x of exactly that dtype.
 */
export function checkDatasetFitsInput(ds: Dataset, input: ModelInputSpec): void {
  const shown = (s: readonly (number | string)[]) => `[${s.join(',')}]`;
  const xs = ds.x.shape;
  const fits = xs.length === input.shape.length && input.shape.every((d, i) => i === 0 || typeof d === 'string' || d < 0 || d === xs[i]);
  if (!fits) {
    const perSample = elementCount(xs.slice(1));
    const modelDims = input.shape.slice(1);
    const same = modelDims.every((d): d is number => typeof d === 'number' && d >= 0) && elementCount(modelDims) === perSample;
    const hint = same ? ` (same ${perSample} values per sample: reshape the data set)` : '';
    throw new InputError(`${ds.path}: data set x has shape ${shown(xs)} but model input '${input.name}' expects ${shown(input.shape)}${hint}`);
  }
  if (input.dtype !== 'float32' && input.dtype !== ds.x.dtype) {
    throw new InputError(`${ds.path}: data set x is ${ds.x.dtype} but model input '${input.name}' expects ${input.dtype}`);
  }
}

/** Values as float32 (no copy when already float32); float16 is decoded from its bits. */
export function toFloat32(data: TypedArray, dtype: NpDtype): Float32Array {
  if (data instanceof Float32Array) return data;
  if (dtype === 'float16') return Float32Array.from(data as Uint16Array, fromHalfBits);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float32Array.from(data, Number);
  return Float32Array.from(data);
}


/** A batch's y as class indices (Int32Array); throws if y is missing or not integral. */
export function classLabels(ds: Dataset, batch: Batch): Int32Array {
  const y = batch.y;
  if (ds.y === undefined || y === undefined) throw new InputError(`${ds.path}: the data set has no y (labels)`);
  if (ds.y.dtype === 'float16') throw new InputError(`${ds.path}: y is float16; class labels must be integers`);
  const out = Int32Array.from(y as ArrayLike<number | bigint>, Number);
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== Number(y[i]) || out[i] < 0) throw new InputError(`${ds.path}: y[${batch.start + i}] = ${y[i]} is not a class index`);
  }
  return out;
}
