/**
 * Training data for distillation, in memory: x as float32 and, when the data set has them,
 * class labels. Labels are optional — distillation needs only the teacher's outputs.
 */
import { classLabels, openDataset, toFloat32 } from '../data/dataset.ts';
import { InputError } from '../errors.ts';

export interface Samples {
  x: Float32Array;
  y?: Int32Array;
  /** Shape of one sample. */
  sampleShape: number[];
  length: number;
}

export async function loadSamples(path: string, limit = 0): Promise<Samples> {
  const ds = await openDataset(path);
  try {
    const length = limit > 0 ? Math.min(limit, ds.length) : ds.length;
    const sampleShape = ds.x.shape.slice(1);
    const per = sampleShape.reduce((a, b) => a * b, 1);
    const x = new Float32Array(length * per);
    const y = ds.y ? new Int32Array(length) : undefined;
    for await (const b of ds.batches(1024, { limit: length })) {
      x.set(toFloat32(b.x, ds.x.dtype), b.start * per);
      if (y) y.set(classLabels(ds, b), b.start);
    }
    if (length === 0) throw new InputError(`${path}: the data set is empty`);
    return { x, ...(y && { y }), sampleShape, length };
  } finally {
    await ds.close();
  }
}

/** Rows [from, to) of a sample set (no copy). */
export function rows(s: Samples, from: number, to: number): Samples {
  const per = s.x.length / s.length;
  return { x: s.x.subarray(from * per, to * per), ...(s.y && { y: s.y.subarray(from, to) }), sampleShape: s.sampleShape, length: to - from };
}

/** The last `fraction` of the samples held out for validation (the fixtures' splits are shuffled). */
export function holdOut(s: Samples, fraction: number): { train: Samples; val: Samples } {
  const n = Math.round(s.length * fraction);
  if (n < 1 || n >= s.length) throw new InputError(`valSplit ${fraction} leaves no training or no validation samples of ${s.length}`);
  return { train: rows(s, 0, s.length - n), val: rows(s, s.length - n, s.length) };
}
