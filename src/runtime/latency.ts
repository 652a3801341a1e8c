/**
 * Latency: warm-up runs, then timed runs on seeded random inputs shaped from the session's
 * input metadata, at batch 1 and batch N.
 */
import { InputError } from '../errors.ts';
import { mulberry32 } from '../math/random.ts';
import { planFeeds, type Plan } from './feeds.ts';
import { toOrt, type OrtSession } from './ort.ts';

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

async function time(session: OrtSession, plan: Plan, warmup: number, runs: number): Promise<Timing> {
  // Converted once, outside the timed loop: only onnxruntime's run is measured.
  const feeds = Object.fromEntries(Object.entries(plan.feeds).map(([k, t]) => [k, toOrt(t)]));
  const once = async () => {
    for (let c = 0; c < plan.calls; c++) await session.runOrt(feeds);
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

export async function measureLatency(session: OrtSession, opts: LatencyOptions = {}): Promise<LatencyResult> {
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
