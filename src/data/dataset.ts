/**
 * Data sets for calibration and evaluation: an `.npz` with arrays x (and optionally y), a
 * `.npy` (x only), a folder of x.npy/y.npy, or a class-per-folder image set. Every source
 * is read one batch at a time, so memory does not grow with the data set. An `.npz` or a
 * folder may hold one array per model input, named after it; a 0-d array is one value for
 * every sample (a sample rate).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { fromHalfBits } from '../math/float16.ts';
import { batchTotal, type ArrayInfo, type Batch, type Dataset } from './batch.ts';
import { openImageFolder, type ImageSpec } from './images.ts';
import type { InputValues } from './input-values.ts';
import type { TypedArray } from '../onnx/dtype.ts';
import type { NpArray, NpDtype, NpyHeader } from './npy.ts';
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
  /** Values fed whole to model inputs (`--input-value`); a name the data set has as well is refused. */
  inputValues?: InputValues;
}

interface ArraySource {
  header: NpyHeader;
  rows(): Promise<RowReader> | RowReader;
  /** The whole array (0-d arrays are read this way). */
  read?(): Promise<NpArray>;
}

interface Sources {
  arrays: Map<string, ArraySource>;
  close: () => Promise<void>;
}

/** Opens a data set by path; throws InputError naming the file when it cannot be used. */
export async function openDataset(path: string, opts: OpenDatasetOptions = {}): Promise<Dataset> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new InputError(`${path}: no such file or directory`);
  let sources: Sources;
  if (info.isDirectory()) {
    const files = (await readdir(path)).filter((f) => f.endsWith('.npy')).sort();
    if (!files.includes(`${opts.x ?? 'x'}.npy`)) return withValues(await openImageFolder(path, opts.image), opts.inputValues);
    sources = await openFolder(path, files);
  } else if (path.toLowerCase().endsWith('.npy')) {
    const x = await NpyFile.open(path);
    sources = { arrays: new Map([[opts.x ?? 'x', x]]), close: () => x.close() };
  } else {
    const npz = await Npz.open(path);
    const arrays = new Map(npz.names.map((name) => [name, { header: npz.header(name), rows: () => npz.rows(name), read: () => npz.read(name) }]));
    sources = { arrays, close: () => npz.close() };
  }
  try {
    return await arrayDataset(path, sources, opts);
  } catch (err) {
    await sources.close();
    throw err;
  }
}

async function openFolder(path: string, files: readonly string[]): Promise<Sources> {
  const opened: NpyFile[] = [];
  const close = async () => {
    for (const f of opened) await f.close();
  };
  try {
    for (const f of files) opened.push(await NpyFile.open(join(path, f)));
  } catch (err) {
    await close();
    throw err;
  }
  return { arrays: new Map(files.map((f, i) => [f.slice(0, -4), opened[i]!])), close };
}

/** An image folder gets `--input-value`s as well (a model with a scale input, say). */
function withValues(ds: Dataset, values: InputValues | undefined): Dataset {
  return values && Object.keys(values).length ? Object.assign(ds, { constants: { ...values } }) : ds;
}

async function arrayDataset(path: string, sources: Sources, opts: OpenDatasetOptions): Promise<Dataset> {
  const xName = opts.x ?? 'x';
  const yName = opts.y ?? 'y';
  const ys = sources.arrays.get(yName);
  const fed = [...sources.arrays].filter(([name]) => name !== yName);
  const perSample = fed.filter(([, s]) => s.header.shape.length > 0);
  const constants: Record<string, NpArray> = {};
  for (const [name, s] of fed) if (s.header.shape.length === 0 && s.read) constants[name] = await s.read();
  for (const [name, v] of Object.entries(opts.inputValues ?? {})) {
    if (sources.arrays.has(name)) throw new InputError(`${path}: input '${name}' is given twice, by the data set and by --input-value`);
    constants[name] = v;
  }
  const primary = sources.arrays.has(xName) ? xName : perSample[0]?.[0];
  if (primary === undefined) throw new InputError(`${path}: no array '${xName}' (arrays: ${[...sources.arrays.keys()].join(', ') || 'none'})`);
  const xs = sources.arrays.get(primary)!;
  const infoOf = (s: ArraySource): ArrayInfo => ({ dtype: s.header.dtype, shape: s.header.shape });
  const x = infoOf(xs);
  const y = ys && infoOf(ys);
  const length = x.shape[0];
  if (length === undefined) throw new InputError(`${path}: ${primary} is a scalar; it needs a first (sample) dimension`);
  for (const [name, s] of [...perSample, ...(ys ? [[yName, ys] as const] : [])]) {
    if (s.header.shape[0] !== length) throw new InputError(`${path}: ${name} has ${s.header.shape[0] ?? 'no'} samples but ${primary} has ${length}`);
  }
  const arrays = Object.fromEntries(perSample.map(([name, s]) => [name, infoOf(s)]));
  return {
    path,
    x,
    ...(y && { y }),
    arrays,
    ...(Object.keys(constants).length && { constants }),
    length,
    async *batches(batchSize: number, o: { limit?: number } = {}): AsyncGenerator<Batch> {
      const total = batchTotal(length, batchSize, o.limit);
      const readers = new Map<string, RowReader>();
      try {
        for (const [name, s] of perSample) readers.set(name, await s.rows());
        const yr = await ys?.rows();
        if (yr) readers.set(yName, yr);
        for (let start = 0; start < total; start += batchSize) {
          const n = Math.min(batchSize, total - start);
          const read = new Map(await Promise.all([...readers].map(async ([name, r]) => [name, await r.read(n)] as const)));
          const yb = ys && read.get(yName);
          read.delete(yName);
          yield { start, x: read.get(primary)!, shape: [n, ...x.shape.slice(1)], ...(yb && { y: yb }), arrays: Object.fromEntries(read) };
        }
      } finally {
        for (const r of readers.values()) await r.close();
      }
    },
    close: sources.close,
  };
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
