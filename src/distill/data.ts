/**
 * Training data for distillation, in memory: x as float32 and, when the data set has them,
 * class labels. Labels are optional — distillation needs only the teacher's outputs. A model
 * with several inputs gets every array of the data set (by input name, as stored) and the
 * values fed whole (0-d arrays, `--input-value`), exactly as evaluation and calibration feed it.
 */
import { classLabels, openDataset, toFloat32 } from '../data/dataset.ts';
import type { InputValues } from '../data/input-values.ts';
import type { NpArray } from '../data/npy.ts';
import { InputError } from '../errors.ts';
import type { TypedArray } from '../onnx/dtype.ts';
import type { Batch, BatchArray } from '../runtime/batches.ts';

export interface Samples {
  /** The primary array (the data set's x, else its first): what shifts move and one-input models are fed. */
  x: Float32Array;
  y?: Int32Array;
  /** Shape of one sample of x. */
  sampleShape: number[];
  length: number;
  /** Several inputs: every other per-sample array by name, as stored; x is fed as `primary`. */
  arrays?: Record<string, BatchArray>;
  primary?: string;
  /** Values fed whole to every run, by input name. */
  constants?: Record<string, NpArray>;
}

export async function loadSamples(path: string, limit = 0, inputValues?: InputValues): Promise<Samples> {
  const ds = await openDataset(path, { inputValues });
  try {
    const length = limit > 0 ? Math.min(limit, ds.length) : ds.length;
    if (length === 0) throw new InputError(`${path}: the data set is empty`);
    const sampleShape = ds.x.shape.slice(1);
    const per = sampleShape.reduce((a, b) => a * b, 1);
    const x = new Float32Array(length * per);
    const y = ds.y ? new Int32Array(length) : undefined;
    const several = Object.keys(ds.arrays ?? {}).length > 1;
    const arrays: Record<string, BatchArray> = {};
    let primary: string | undefined;
    for await (const b of ds.batches(1024, { limit: length })) {
      x.set(toFloat32(b.x, ds.x.dtype), b.start * per);
      if (y) y.set(classLabels(ds, b), b.start);
      if (!several) continue;
      for (const [name, data] of Object.entries(b.arrays ?? {})) {
        // x is kept once, as float32 (`x`), under its name.
        if (data === b.x) {
          primary = name;
          continue;
        }
        const info = ds.arrays![name]!;
        const rowLen = info.shape.slice(1).reduce((p, d) => p * d, 1);
        arrays[name] ??= { data: new (data.constructor as new (n: number) => TypedArray)(length * rowLen), dtype: info.dtype, shape: [length, ...info.shape.slice(1)] };
        (arrays[name].data as { set(v: ArrayLike<unknown>, at: number): void }).set(data as ArrayLike<unknown>, b.start * rowLen);
      }
    }
    const constants = ds.constants && Object.keys(ds.constants).length ? { ...ds.constants } : undefined;
    return { x, ...(y && { y }), sampleShape, length, ...(several && { arrays, primary }), ...(constants && { constants }) };
  } finally {
    await ds.close();
  }
}

const rowLength = (a: BatchArray) => a.shape.slice(1).reduce((p, d) => p * d, 1);

/** Rows [from, to) of an array (no copy). */
function sliceRows(a: BatchArray, from: number, to: number): BatchArray {
  const rowLen = rowLength(a);
  return { ...a, data: a.data.subarray(from * rowLen, to * rowLen), shape: [to - from, ...a.shape.slice(1)] };
}

/** Rows `at` of an array, in that order (a copy). */
function gatherRows(a: BatchArray, at: readonly number[]): BatchArray {
  const rowLen = rowLength(a);
  const out = new (a.data.constructor as new (n: number) => TypedArray)(at.length * rowLen) as TypedArray & { set(v: ArrayLike<unknown>, offset: number): void };
  at.forEach((r, i) => out.set(a.data.subarray(r * rowLen, (r + 1) * rowLen) as ArrayLike<unknown>, i * rowLen));
  return { ...a, data: out, shape: [at.length, ...a.shape.slice(1)] };
}

const mapArrays = (s: Samples, f: (a: BatchArray) => BatchArray) => s.arrays && Object.fromEntries(Object.entries(s.arrays).map(([name, a]) => [name, f(a)]));

/** Rows [from, to) of a sample set (no copy). */
export function rows(s: Samples, from: number, to: number): Samples {
  const per = s.x.length / s.length;
  const arrays = mapArrays(s, (a) => sliceRows(a, from, to));
  return { ...s, x: s.x.subarray(from * per, to * per), ...(s.y && { y: s.y.subarray(from, to) }), length: to - from, ...(arrays && { arrays }) };
}

/** The other inputs' rows `at`, in that order (a copy; the trainer gathers x and y itself, with its shifts). */
export function otherInputRows(s: Samples, at: readonly number[]): Samples['arrays'] {
  return mapArrays(s, (a) => gatherRows(a, at));
}

/**
 * The runtime's batch (runtime/batches.ts) of a sample set: every input as the data set gives
 * it (`arrays`, default the set's own), and `x` (default the set's) as the primary one: the
 * trainer's gathered, maybe shifted, float rows.
 */
export function batchOf(s: Samples, x = s.x, arrays = s.arrays): Batch {
  const shape = [x.length / (s.sampleShape.reduce((a, b) => a * b, 1) || 1), ...s.sampleShape];
  const all = arrays && { ...arrays, [s.primary!]: { data: x, dtype: 'float32' as const, shape } };
  return { x, shape, ...(all && { arrays: all }), ...(s.constants && { constants: s.constants }) };
}

/** The last `fraction` of the samples held out for validation (the fixtures' splits are shuffled). */
export function holdOut(s: Samples, fraction: number): { train: Samples; val: Samples } {
  const n = Math.round(s.length * fraction);
  if (n < 1 || n >= s.length) throw new InputError(`valSplit ${fraction} leaves no training or no validation samples of ${s.length}`);
  return { train: rows(s, 0, s.length - n), val: rows(s, s.length - n, s.length) };
}
