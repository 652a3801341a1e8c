/**
 * Side-by-side latency for the benchmarks: the one place that times onnxruntime sessions.
 *
 * Every contender gets its own session at a fixed thread count. In each round every contender
 * runs the same feeds for at least `minRoundMs` (sub-millisecond models get many calls), each
 * call timed, and the round's value is the median call (a call the scheduler preempted on a
 * shared machine does not move it); the round order rotates so no contender always follows the
 * same one. A ratio is baseline ÷ contender per round, so a load change during the run hits
 * both sides of it. Reported: the median over rounds and the range, and the fastest single
 * call of each (the least disturbed by other processes) with their ratio.
 */
import type { HostTensor } from '../../src/runtime/types.ts';
import { createSession, toOrt, type OrtSession } from '../../src/runtime/ort.ts';

export interface Contender {
  label: string;
  /** A path or the model's bytes. */
  model: string | Uint8Array;
}

export interface TimingOptions {
  /** onnxruntime intra-op threads; default 1. */
  threads?: number;
  /** Rounds; default 15. */
  rounds?: number;
  /** Minimum time per contender per round; default 40 ms. */
  minRoundMs?: number;
}

export interface Timed {
  label: string;
  /** Median over rounds of the mean ms per call, and the range of the round values. */
  ms: number;
  msRange: [number, number];
  /** contenders[0] ms ÷ this ms: median over rounds, and the range. */
  speedup: number;
  speedupRange: [number, number];
  /** Fastest single call, and baseline's fastest ÷ this one's. */
  bestMs: number;
  bestSpeedup: number;
  callsPerRound: number;
}

export const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const range = (v: readonly number[]): [number, number] => [Math.min(...v), Math.max(...v)];

export async function timeInterleaved(contenders: readonly Contender[], feeds: Readonly<Record<string, HostTensor>>, o: TimingOptions = {}): Promise<Timed[]> {
  const threads = o.threads ?? 1;
  const rounds = o.rounds ?? 15;
  const minRoundMs = o.minRoundMs ?? 40;
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toOrt(t)]));
  const sessions: OrtSession[] = [];
  try {
    for (const c of contenders) sessions.push(await createSession(c.model, { threads, label: c.label }));
    // Warm-up, then how many calls fill a round.
    const calls: number[] = [];
    for (const s of sessions) {
      for (let i = 0; i < 3; i++) await s.runOrt(ortFeeds);
      const t = performance.now();
      await s.runOrt(ortFeeds);
      calls.push(Math.max(1, Math.ceil(minRoundMs / Math.max(performance.now() - t, 1e-3))));
    }
    const ms: number[][] = contenders.map(() => []);
    const best = contenders.map(() => Infinity);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < sessions.length; k++) {
        const i = (r + k) % sessions.length;
        const each: number[] = [];
        for (let c = 0; c < calls[i]!; c++) {
          const t = performance.now();
          await sessions[i]!.runOrt(ortFeeds);
          each.push(performance.now() - t);
        }
        ms[i]!.push(median(each));
        best[i] = Math.min(best[i]!, ...each);
      }
    }
    return contenders.map((c, i) => {
      const ratios = ms[0]!.map((base, r) => base / ms[i]![r]!);
      return {
        label: c.label, ms: median(ms[i]!), msRange: range(ms[i]!), speedup: median(ratios), speedupRange: range(ratios),
        bestMs: best[i]!, bestSpeedup: best[0]! / best[i]!, callsPerRound: calls[i]!,
      };
    });
  } finally {
    for (const s of sessions) await s.close();
  }
}
