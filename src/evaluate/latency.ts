/**
 * Latency for a report: one model alone, or a reference and a candidate (input and output,
 * baseline and model) timed interleaved in one child process, so their speed-up is a paired
 * measurement. Random inputs on which onnxruntime fails or crashes make a "latency not
 * measured" note, not an error; a candidate that got slower at either batch size makes a
 * warning.
 */
import { CheckError } from '../errors.ts';
import { compareLatency, LatencyNotMeasured, measureLatency, sideOf, type LatencyOptions, type ModelSource, type PairedTiming } from '../runtime/latency.ts';
import type { StageLatency } from '../report/schema.ts';

export interface LatencyModel {
  source: ModelSource;
  /** Names it in notes and warnings. */
  label: string;
}

export interface ReportLatencyOptions extends LatencyOptions {
  /**
   * The candidate failing on random inputs its reference runs on is a failed check
   * (CheckError), not a note: set for a model shrinkray produced. Default false.
   */
  candidateMustRun?: boolean;
}

export interface ReportLatency {
  /** One per model given, in order; absent when latency could not be measured. */
  stages?: StageLatency[];
  /** "latency not measured: …" when it could not be. */
  notes: string[];
  /** One per batch size at which the candidate is slower than its reference. */
  warnings: string[];
}

/**
 * Slower means a speed-up below 1 that is not noise: either the candidate was slower in more
 * of the paired runs than chance allows (a one-sided sign test at 0.1 %: two equal models split
 * the runs about evenly), or its median is more than 20 % slower (a few runs on a loaded
 * machine can hide a clear loss from the sign test).
 */
const SIGN_TEST_Z = 3.09;
const CLEARLY_SLOWER = 0.8;

export function isSlower(t: PairedTiming): boolean {
  if (!(t.speedup < 1)) return false;
  const n = t.a.runs;
  const slowerRuns = (1 - t.bFasterRounds) * n;
  // Normal approximation of the binomial, with continuity correction.
  const z = (slowerRuns - 0.5 - n / 2) / Math.sqrt(n / 4);
  return z > SIGN_TEST_Z || t.speedup < CLEARLY_SLOWER;
}

const ms = (v: number) => `${v < 10 ? v.toFixed(3) : v.toFixed(1)} ms`;

function slower(t: PairedTiming, n: number, threads: number, [ref, cand]: readonly LatencyModel[]): string | undefined {
  if (!isSlower(t)) return undefined;
  const share = Math.round((1 - t.bFasterRounds) * 100);
  return `warning: ${cand!.label} is slower than ${ref!.label} at batch ${n}: ${t.speedup.toFixed(2)}× (p50 ${ms(t.a.p50)} → ${ms(t.b.p50)}; slower in ${share}% of ${t.a.runs} interleaved runs, ${threads} intra-op thread${threads > 1 ? 's' : ''})`;
}

/** Times one model, or the second of two against the first; see the module comment. */
export async function latencyForReport(models: readonly [LatencyModel] | readonly [LatencyModel, LatencyModel], opts: ReportLatencyOptions = {}): Promise<ReportLatency> {
  const { candidateMustRun, ...rest } = opts;
  const timing = { ...rest, labels: models.map((m) => m.label) };
  try {
    if (models.length === 1) return { stages: [await measureLatency(models[0].source, timing)], notes: [], warnings: [] };
    const c = await compareLatency(models[0].source, models[1].source, timing);
    const warnings = [slower(c.batch1, 1, c.threads, models), slower(c.batchN, c.batchN.n, c.threads, models)].filter((w) => w !== undefined);
    return { stages: [sideOf(c, 'a'), sideOf(c, 'b')], notes: [], warnings };
  } catch (err) {
    if (!(err instanceof LatencyNotMeasured)) throw err;
    if (candidateMustRun && err.model === 1) {
      throw new CheckError(`${models[1]!.label} fails on random inputs that ${models[0].label} runs on: ${err.message}`, { cause: err });
    }
    return { notes: [`latency not measured: ${err.message}`], warnings: [] };
  }
}
