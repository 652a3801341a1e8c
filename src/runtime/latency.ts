/**
 * Latency measured like a benchmark: the one timer of onnxruntime sessions (reports, int8
 * placement, the benchmarks). Models are timed with a fixed intra-op thread count, on seeded
 * random inputs valid for each input's role (or values given whole), at batch 1 and batch N
 * or at batch N only. Models compared run in the same process, interleaved run by run (A B,
 * then B A; more models in a shuffled order each round, `roundOrders`), so load from other processes and frequency changes fall on all alike; each model
 * runs until it has had a minimum number of runs and a minimum total time (sub-millisecond
 * models need thousands of runs for a stable median), capped in time for large models.
 * By default they run in a fresh child process, where a native crash of onnxruntime on random
 * inputs ends only the child. A fresh child costs its start on every call: measured on dscnn at
 * load 14, a minimal comparison took 0.9–1.5 s in a fresh child, 0.12–0.23 s in the shared child
 * after its first start (1.3 s), 0.10–0.12 s in this process (`runIn`).
 */
import { InputError } from '../errors.ts';
import type { InputRole } from '../check/input-roles.ts';
import type { Model } from '../ir/model.ts';
import { modelToBytes } from '../io/save.ts';
import { mulberry32, shuffle } from '../math/random.ts';
import { runInChild, runInSharedChild } from './child.ts';
import type { InputValues } from '../data/input-values.ts';
import { planFeeds, type Plan } from './feeds.ts';
import { createSession, type OptimizationLevel, type OrtSession } from './ort.ts';
import type { InputShapes } from './shapes.ts';

export interface LatencyOptions {
  /** The N of "batch N"; default 32. */
  batch?: number;
  /** onnxruntime intra-op threads of every timed session; default 1 (stable comparisons on a shared machine). */
  threads?: number;
  /** Timed runs per model and batch size, at least; default 30. */
  minRuns?: number;
  /** Timed seconds per model and batch size, at least; default 0.5. */
  minSeconds?: number;
  /** Timed seconds per model and batch size, at most (large models get fewer runs, never under 3); default 10. */
  maxSeconds?: number;
  /** Untimed runs per model before each batch size; default 3. */
  warmup?: number;
  /** PRNG seed for the inputs; default 1. */
  seed?: number;
  /** Sizes of free dims other than the batch dim (by input, or by symbol: { dims: { seq: 128 } }). */
  shapes?: InputShapes;
  /** Role of each input by name (src/check/input-roles.ts): indices stay inside their table. Default: by dtype. */
  roles?: Readonly<Record<string, InputRole>>;
  /** Names of in-memory models in messages, in the order given (a path names itself). */
  labels?: readonly string[];
  /** Values fed whole to inputs instead of random ones (`--input-value`: a sample rate, a state; a bench's real samples). */
  values?: InputValues;
  /** Time batch 1 as well as batch N; default true (false: batch N only). */
  batch1?: boolean;
  /** onnxruntime graph optimizations of every session; default 'all'. */
  optimization?: OptimizationLevel;
  /** onnxruntime session config entries per model, in the order given (experiments: 'session.qdqisint8allowed'). */
  configs?: readonly (Readonly<Record<string, string>> | undefined)[];
  /**
   * Where the models run: a fresh child (default), the process's long-lived shared child (no
   * start per call; for callers that compare many models, as placement does), or this process
   * (no crash isolation: benchmarks). See the module comment.
   */
  runIn?: 'child' | 'shared child' | 'this process';
}

/** Milliseconds per call of the whole batch, over `runs` timed runs. */
export interface Timing {
  p10: number;
  p50: number;
  p90: number;
  runs: number;
}

/** One model's latency; what a report stage records. */
export interface LatencyResult {
  /** Intra-op threads it ran with. */
  threads: number;
  batch1: Timing;
  batchN: Timing & { n: number };
}

/** A ratio over rounds: the median and the range. */
export interface RoundRatio {
  ratio: number;
  lo: number;
  hi: number;
}

/** Two models timed interleaved at one batch size. */
export interface PairedTiming {
  a: Timing;
  b: Timing;
  /** a.p50 / b.p50: 2 is b twice as fast. */
  speedup: number;
  /** Fraction of the interleaved rounds in which b ran faster than a. */
  bFasterRounds: number;
  /**
   * The paired runs cut into FASTEST_ROUNDS rounds of consecutive runs, each round's fastest a
   * over its fastest b. Under load most calls are preempted (tinyvit at batch 32: p50s of 3–20 ms
   * for 1.9 ms of kernels at load 18); the fastest is the call closest to the model's own cost.
   */
  fastest: RoundRatio;
}

export interface LatencyComparison {
  threads: number;
  batch1: PairedTiming;
  batchN: PairedTiming & { n: number };
}

/**
 * Timing could not run: onnxruntime failed or crashed on the random inputs. `model` is the
 * index of the model that failed (the others ran on the same inputs), undefined for a crash.
 * Loading failures are not this: they stay the InputError "onnxruntime rejected …".
 */
export class LatencyNotMeasured extends InputError {
  constructor(
    message: string,
    readonly model?: number,
  ) {
    super(message);
    this.name = 'LatencyNotMeasured';
  }
}

export type ModelSource = string | Uint8Array | Model;

/** What the child is asked (child.ts): models as paths or bytes. */
export interface LatencyTask {
  models: (string | Uint8Array)[];
  opts: LatencyOptions;
}

/**
 * Samples per model at batch 1 and N; or why no random inputs could run: which model failed
 * (undefined when no inputs could be made, e.g. a string input or a dim without a size).
 */
export type TimedModels =
  | { threads: number; n: number; batch1?: number[][]; batchN: number[][] }
  | { failed: { model?: number; reason: string } };

/** Every model after the first against the first, each timed interleaved with all the others. */
export interface ModelsComparison {
  threads: number;
  /** Absent with `batch1: false`. */
  batch1?: PairedTiming[];
  batchN: PairedTiming[];
  n: number;
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
  return { p10: percentile(sorted, 0.1), p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), runs: samples.length };
}

function validate(opts: LatencyOptions): Required<Pick<LatencyOptions, 'batch' | 'threads' | 'minRuns' | 'minSeconds' | 'maxSeconds' | 'warmup' | 'seed' | 'batch1'>> {
  // Options given as undefined (an absent flag) keep the default.
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o = { batch: 32, threads: 1, minRuns: 30, minSeconds: 0.5, maxSeconds: 10, warmup: 3, seed: 1, batch1: true, ...given };
  const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;
  if (!positiveInt(o.batch) || !positiveInt(o.threads) || !positiveInt(o.minRuns) || !(Number.isInteger(o.warmup) && o.warmup >= 0)) {
    throw new InputError(`latency: batch (${o.batch}), threads (${o.threads}) and runs (${o.minRuns}) must be positive integers, warm-up runs (${o.warmup}) non-negative`);
  }
  if (!(o.minSeconds >= 0) || !(o.maxSeconds > 0)) throw new InputError(`latency: seconds must be positive (min ${o.minSeconds}, max ${o.maxSeconds})`);
  return o;
}

/** Fewer timed runs than this give no spread worth the name, whatever the time cap. */
const FLOOR_RUNS = 3;

/** No run on the random inputs: which model failed (undefined: no inputs could be made). */
class RunFailed extends Error {
  constructor(
    readonly model: number | undefined,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * The order of each round's runs, round after round. Two models alternate (A B, B A …): each runs
 * twice in a row once per two rounds, alike. With more, reversing would give that only to the
 * first and last (measured: four identical copies of mobilenetv2's int8 model timed 1.77–1.96×
 * fp32 by their position, the last always fastest); so each round is a seeded shuffle that never
 * starts with the model the previous round ended with: no model runs twice in a row, and each
 * is preceded by every other alike, on average.
 */
export function roundOrders(n: number, seed: number): () => number[] {
  const random = mulberry32(seed ^ 0x5eed);
  let prev: number[] = [];
  return () => {
    let next: number[];
    if (n <= 2) next = prev.length && prev[0] === 0 ? [...prev].reverse() : Array.from({ length: n }, (_, i) => i);
    else {
      next = shuffle(Array.from({ length: n }, (_, i) => i), random);
      if (next[0] === prev[n - 1]) [next[0], next[n - 1]] = [next[n - 1]!, next[0]!];
    }
    prev = next;
    return next;
  };
}

/** Times `sessions` at one batch size, interleaved; samples per session. */
async function timeBatch(sessions: readonly OrtSession[], plans: readonly Plan[], o: ReturnType<typeof validate>): Promise<number[][]> {
  // Converted once, outside the timed loop: only onnxruntime's run is measured.
  const feeds = plans.map((p, i) => Object.fromEntries(Object.entries(p.feeds).map(([k, t]) => [k, sessions[i]!.tensor(t)])));
  const once = async (i: number): Promise<number> => {
    const t0 = performance.now();
    try {
      for (let c = 0; c < plans[i]!.calls; c++) await sessions[i]!.runOrt(feeds[i]!);
    } catch (err) {
      throw new RunFailed(i, err instanceof Error ? err.message : String(err));
    }
    return performance.now() - t0;
  };
  for (let w = 0; w < o.warmup; w++) for (let i = 0; i < sessions.length; i++) await once(i);
  const samples = sessions.map(() => [] as number[]);
  const totals = sessions.map(() => 0);
  const nextOrder = roundOrders(sessions.length, o.seed);
  // Rounds until every model has had the minimum count and time, or one has reached the cap.
  const enough = (r: number) =>
    r >= FLOOR_RUNS && ((r >= o.minRuns && Math.min(...totals) >= o.minSeconds * 1000) || Math.max(...totals) >= o.maxSeconds * 1000);
  for (let r = 0; !enough(r); r++) {
    for (const i of nextOrder()) {
      const t = await once(i);
      samples[i]!.push(t);
      totals[i] += t;
    }
  }
  return samples;
}

/** In this process (the child's side): opens every model, then times them interleaved. */
export async function timeModelsHere(task: LatencyTask): Promise<TimedModels> {
  const o = validate(task.opts);
  const sessions: OrtSession[] = [];
  try {
    for (const [i, m] of task.models.entries()) {
      sessions.push(await createSession(m, { threads: o.threads, label: task.opts.labels?.[i] ?? `model ${i + 1}`, optimization: task.opts.optimization, config: task.opts.configs?.[i] }));
    }
    // Planned per model from the same seed: models with the same inputs get the same values.
    const plans = (batch: number) => {
      try {
        return sessions.map((s) => planFeeds(s, batch, mulberry32(o.seed), task.opts.shapes, task.opts.roles, task.opts.values));
      } catch (err) {
        throw new RunFailed(undefined, err instanceof Error ? err.message : String(err));
      }
    };
    const batch1 = o.batch1 ? await timeBatch(sessions, plans(1), o) : undefined;
    const batchN = await timeBatch(sessions, plans(o.batch), o);
    return { threads: o.threads, n: o.batch, ...(batch1 && { batch1 }), batchN };
  } catch (err) {
    if (err instanceof RunFailed) return { failed: { model: err.model, reason: err.reason } };
    throw err;
  } finally {
    for (const s of sessions) await s.close();
  }
}

/** Times `models` interleaved where `runIn` says; throws LatencyNotMeasured if they cannot run on random inputs. */
async function timeModels(models: readonly ModelSource[], opts: LatencyOptions): Promise<Extract<TimedModels, { threads: number }>> {
  validate(opts); // bad options are the caller's error, before a child starts
  const sources = models.map((m) => (typeof m === 'string' || m instanceof Uint8Array ? m : modelToBytes(m)));
  const { runIn = 'child', ...rest } = opts;
  const task = { models: sources, opts: rest };
  const crashed = (how: string) => new LatencyNotMeasured(`onnxruntime crashed (${how}) on random inputs`);
  const timed = runIn === 'this process' ? await timeModelsHere(task) : await (runIn === 'shared child' ? runInSharedChild : runInChild)('latency', task, crashed);
  if ('failed' in timed) throw new LatencyNotMeasured(timed.failed.reason, timed.failed.model);
  return timed;
}

/** One model's latency at batch 1 and batch N, timed in a child process. */
export async function measureLatency(model: ModelSource, opts: LatencyOptions = {}): Promise<LatencyResult> {
  const t = await timeModels([model], { ...opts, batch1: true });
  return { threads: t.threads, batch1: summarize(t.batch1![0]!), batchN: { n: t.n, ...summarize(t.batchN[0]!) } };
}

/** Rounds the fastest-call ratio is taken over (as many as there are runs, when fewer). */
const FASTEST_ROUNDS = 5;

const median = (v: readonly number[]) => percentile([...v].sort((x, y) => x - y), 0.5);

function fastestRatio(a: readonly number[], b: readonly number[]): RoundRatio {
  const rounds = Math.min(FASTEST_ROUNDS, a.length);
  const ratios = Array.from({ length: rounds }, (_, r) => {
    // Round r holds runs [from, to): equal shares, the remainder spread over them.
    const [from, to] = [Math.floor((r * a.length) / rounds), Math.floor(((r + 1) * a.length) / rounds)];
    return Math.min(...a.slice(from, to)) / Math.min(...b.slice(from, to));
  });
  return { ratio: median(ratios), lo: Math.min(...ratios), hi: Math.max(...ratios) };
}

/** Samples of model `j` against those of the reference `a`, run for run. */
function paired(a: readonly number[], b: readonly number[]): PairedTiming {
  const [ta, tb] = [summarize(a), summarize(b)];
  const faster = a.filter((v, r) => b[r]! < v).length;
  return { a: ta, b: tb, speedup: ta.p50 / tb.p50, bFasterRounds: faster / a.length, fastest: fastestRatio(a, b) };
}

const againstFirst = (samples: number[][]) => samples.slice(1).map((s) => paired(samples[0]!, s));

/**
 * Every model after the first against the first (a benchmark's contenders against fp32,
 * placement's trial against the current variant), all timed interleaved.
 */
export async function compareModels(models: readonly ModelSource[], opts: LatencyOptions = {}): Promise<ModelsComparison> {
  const t = await timeModels(models, opts);
  return { threads: t.threads, ...(t.batch1 && { batch1: againstFirst(t.batch1) }), batchN: againstFirst(t.batchN), n: t.n };
}

/**
 * Model `b` against model `a` (e.g. the output of a compression against its input), at batch 1
 * and batch N: every speed-up of a report comes from here.
 */
export async function compareLatency(a: ModelSource, b: ModelSource, opts: LatencyOptions = {}): Promise<LatencyComparison> {
  const c = await compareModels([a, b], { ...opts, batch1: true });
  return { threads: c.threads, batch1: c.batch1![0]!, batchN: { n: c.n, ...c.batchN[0]! } };
}

/** One side of a comparison, as a single model's result. */
export function sideOf(c: LatencyComparison, side: 'a' | 'b'): LatencyResult {
  return { threads: c.threads, batch1: c.batch1[side], batchN: { n: c.batchN.n, ...c.batchN[side] } };
}
