/**
 * Latency: warm-up runs, then timed runs on seeded random inputs shaped from the session's
 * input metadata, at batch 1 and batch N.
 */
import * as ort from 'onnxruntime-node';
import { InputError } from '../errors.ts';
import { toHalfBits } from '../math/float16.ts';
import { mulberry32 } from '../math/random.ts';
import { runBatch } from './ort.ts';
import type { Feeds, Session } from './ort.ts';

export interface LatencyOptions {
  /** The N of "batch N"; default 32. */
  batch?: number;
  /** Untimed runs before each measurement; default 3. */
  warmup?: number;
  /** Timed runs per batch size; default 20. */
  runs?: number;
  /** PRNG seed for the inputs; default 1. */
  seed?: number;
  /** Sizes of symbolic dims other than the batch dim, by name (e.g. { seq: 128 }). */
  dims?: Readonly<Record<string, number>>;
}

/** Milliseconds per call of the whole batch. */
export interface Timing {
  p50: number;
  p90: number;
  mean: number;
}

export interface LatencyResult {
  batch1: Timing;
  batchN: Timing & { n: number };
}


/** Linear interpolation between closest ranks (numpy's default); `sorted` ascending. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samples: readonly number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((s, v) => s + v, 0) / samples.length;
  return { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), mean };
}

/** How to push `batch` samples through the model: `calls` runs of `feeds`. */
export interface Plan {
  feeds: Feeds;
  calls: number;
}

/**
 * Random feeds for every input. The leading dim, when symbolic, is the batch dim: its name
 * (wherever it appears) binds to `batch`. When every input's leading dim is fixed to k, the
 * batch needs ceil(batch / k) calls; inputs without a leading dim (scalars) need one per sample.
 */
export function planFeeds(session: Session, batch: number, rng: () => number, dims: Readonly<Record<string, number>> = {}): Plan {
  const metas = session.ort.inputMetadata;
  let batchName: string | undefined;
  let fixed: number | undefined;
  let dynamic = false;
  for (const m of metas) {
    if (!m.isTensor) throw new InputError(`${session.label}: input "${m.name}" is not a tensor; cannot time it`);
    const d = m.shape[0];
    if (typeof d === 'string' || (typeof d === 'number' && d < 0)) {
      dynamic = true;
      if (typeof d === 'string' && d !== '') batchName ??= d;
    } else if (typeof d === 'number') fixed ??= d;
  }
  const rows = dynamic ? batch : (fixed ?? 1);
  const calls = dynamic ? 1 : Math.ceil(batch / Math.max(rows, 1));
  const feeds: Feeds = {};
  for (const m of metas) {
    if (!m.isTensor) continue;
    const shape = m.shape.map((d, axis) => {
      if (typeof d === 'number' && d >= 0) return d;
      if (axis === 0 || (d !== '' && d === batchName)) return rows;
      if (typeof d === 'string' && d !== '' && dims[d] !== undefined) return dims[d];
      const what = typeof d === 'string' && d !== '' ? `symbolic dim "${d}"` : 'an unnamed dynamic dim';
      throw new InputError(`${session.label}: input "${m.name}" has ${what} at axis ${axis}; give its size`);
    });
    feeds[m.name] = randomTensor(session.label, m.name, m.type, shape, rng);
  }
  return { feeds, calls };
}

function randomTensor(label: string, name: string, type: ort.Tensor.Type, shape: number[], rng: () => number): ort.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'float32':
      return new ort.Tensor(type, Float32Array.from({ length: size }, () => rng() * 2 - 1), shape);
    case 'float16':
      return new ort.Tensor(type, Uint16Array.from({ length: size }, () => toHalfBits(rng() * 2 - 1)), shape);
    case 'uint8':
      return new ort.Tensor(type, Uint8Array.from({ length: size }, () => Math.floor(rng() * 256)), shape);
    // Integer inputs are usually indices or token ids: 0 and 1 are valid for any table.
    case 'int32':
      return new ort.Tensor(type, Int32Array.from({ length: size }, () => (rng() < 0.5 ? 0 : 1)), shape);
    case 'int64':
      return new ort.Tensor(type, BigInt64Array.from({ length: size }, () => (rng() < 0.5 ? 0n : 1n)), shape);
    default:
      throw new InputError(`${label}: input "${name}" is ${type}; latency supports float32, float16, uint8, int32 and int64 inputs`);
  }
}

async function time(session: Session, plan: Plan, warmup: number, runs: number): Promise<Timing> {
  const once = async () => {
    for (let c = 0; c < plan.calls; c++) await runBatch(session, plan.feeds);
  };
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await once();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

export async function measureLatency(session: Session, opts: LatencyOptions = {}): Promise<LatencyResult> {
  const n = opts.batch ?? 32;
  const warmup = opts.warmup ?? 3;
  const runs = opts.runs ?? 20;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
    throw new InputError(`latency: batch (${n}) and runs (${runs}) must be positive integers, warm-up (${warmup}) non-negative`);
  }
  const rng = mulberry32(opts.seed ?? 1);
  const batch1 = await time(session, planFeeds(session, 1, rng, opts.dims), warmup, runs);
  const batchN = await time(session, planFeeds(session, n, rng, opts.dims), warmup, runs);
  return { batch1, batchN: { n, ...batchN } };
}
