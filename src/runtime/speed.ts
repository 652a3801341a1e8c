/**
 * Which of two models onnxruntime runs faster, measured A/B: both sessions open in this
 * process, called alternately on the same seeded input, so a shared machine's drift hits both
 * alike. Measured sequentially instead, one model's per-node profile sum varied 454–722 µs
 * over ten runs at load average 19 (lenet5, batch 32, 1 thread). Each round compares the
 * fastest call of each model: under load most calls are preempted (tinyvit at batch 32: p50s of
 * 3–20 ms for 1.9 ms of kernels at load 18), and the fastest is the one closest to the model's
 * own cost; the result is the median over rounds.
 */
import type { Model } from '../ir/model.ts';
import { modelToBytes } from '../io/save.ts';
import { mulberry32 } from '../math/random.ts';
import { planFeeds } from './feeds.ts';
import { percentile } from './latency.ts';
import { createSession, toOrt, type OrtSession } from './ort.ts';

export interface SpeedOptions {
  /** Samples per run (the leading symbolic dim); default 32. */
  batch?: number;
  /** Intra-op threads; default 1. */
  threads?: number;
  /** Rounds; the result is the median of the rounds' ratios. Default 5. */
  rounds?: number;
  /** Calls of each model per round, at least …; default 10 … */
  minRuns?: number;
  /** … and until the round took this long (ms), up to 200 calls. Default 100. */
  minMs?: number;
  /** Sizes of symbolic dims other than the batch dim, by name. */
  dims?: Readonly<Record<string, number>>;
}

export interface SpeedComparison {
  /** Median over rounds of min(a) / min(b): above 1, b is faster. */
  ratio: number;
  /** Range of the rounds' ratios. */
  lo: number;
  hi: number;
  /** Fastest call of the whole batch, ms (median over rounds). */
  aMs: number;
  bMs: number;
}

/** The middle value (the mean of the two middle ones for an even count), as latency's p50. */
const median = (v: readonly number[]) => percentile([...v].sort((x, y) => x - y), 0.5);

/** Times a call of `s` (all `calls` runs of one batch), ms. */
async function timeCall(s: OrtSession, feeds: Parameters<OrtSession['runOrt']>[0], calls: number): Promise<number> {
  const t0 = performance.now();
  for (let c = 0; c < calls; c++) await s.runOrt(feeds);
  return performance.now() - t0;
}

/** time(a) / time(b) at one batch size and thread count, interleaved call by call. */
export async function compareSpeed(a: Model | Uint8Array, b: Model | Uint8Array, opts: SpeedOptions = {}): Promise<SpeedComparison> {
  const threads = opts.threads ?? 1;
  const rounds = opts.rounds ?? 5;
  const minRuns = opts.minRuns ?? 10;
  const minMs = opts.minMs ?? 100;
  const bytes = (m: Model | Uint8Array) => (m instanceof Uint8Array ? m : modelToBytes(m));
  const sa = await createSession(bytes(a), { label: 'model A of a speed comparison', threads });
  try {
    const sb = await createSession(bytes(b), { label: 'model B of a speed comparison', threads });
    try {
      const plan = planFeeds(sa, opts.batch ?? 32, mulberry32(1), opts.dims);
      const feeds = Object.fromEntries(Object.entries(plan.feeds).map(([k, t]) => [k, toOrt(t)]));
      for (let i = 0; i < 3; i++) {
        await timeCall(sa, feeds, plan.calls);
        await timeCall(sb, feeds, plan.calls);
      }
      const ratios: number[] = [];
      const aMs: number[] = [];
      const bMs: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const ta: number[] = [];
        const tb: number[] = [];
        const started = performance.now();
        while (ta.length < 200 && (ta.length < minRuns || performance.now() - started < minMs)) {
          ta.push(await timeCall(sa, feeds, plan.calls));
          tb.push(await timeCall(sb, feeds, plan.calls));
        }
        aMs.push(Math.min(...ta));
        bMs.push(Math.min(...tb));
        ratios.push(aMs[r]! / bMs[r]!);
      }
      return { ratio: median(ratios), lo: Math.min(...ratios), hi: Math.max(...ratios), aMs: median(aMs), bMs: median(bMs) };
    } finally {
      await sb.close();
    }
  } finally {
    await sa.close();
  }
}
