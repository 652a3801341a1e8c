/**
 * Sparsity schedules for pruning during fine-tuning: constant, or the polynomial ramp of
 * Zhu & Gupta (2017), s(t) = s_f + (s_i − s_f)·(1 − (t − t0)/(t1 − t0))^p, which prunes fast
 * early (while the network can still recover) and slowly near the target.
 */
import { InputError } from '../errors.ts';

export interface SparsitySchedule {
  /** 'constant': `final` at every step. 'polynomial': ramp from `initial` at `begin` to `final` at `end`. */
  kind: 'constant' | 'polynomial';
  /** Target sparsity in [0, 1). */
  final: number;
  /** Sparsity at `begin` (polynomial). Default 0. */
  initial?: number;
  /** First step of the ramp. Default 0. */
  begin?: number;
  /** Step at which `final` is reached (polynomial; required). */
  end?: number;
  /** Exponent p. Default 3. */
  exponent?: number;
  /** Only change sparsity every `frequency` steps (rounded down to a multiple). Default 1. */
  frequency?: number;
}

/** The sparsity a schedule asks for at `step`. */
export function sparsityAt(s: SparsitySchedule, step: number): number {
  if (!(s.final >= 0 && s.final < 1)) throw new InputError(`schedule: final sparsity must be in [0, 1), got ${s.final}`);
  if (s.kind === 'constant') return s.final;
  const initial = s.initial ?? 0;
  const begin = s.begin ?? 0;
  const end = s.end;
  const p = s.exponent ?? 3;
  const freq = Math.max(1, Math.floor(s.frequency ?? 1));
  if (end === undefined || !(end > begin)) throw new InputError(`schedule: a polynomial ramp needs end > begin (begin ${begin}, end ${String(end)})`);
  if (!(initial >= 0 && initial <= s.final)) throw new InputError(`schedule: initial sparsity must be in [0, final], got ${initial}`);
  if (step <= begin) return initial;
  if (step >= end) return s.final;
  const t = begin + Math.floor((step - begin) / freq) * freq;
  return s.final + (initial - s.final) * (1 - (t - begin) / (end - begin)) ** p;
}

/** The sparsity at every step 0..end (for plotting or a training loop). */
export function scheduleSteps(s: SparsitySchedule, steps: number): number[] {
  return Array.from({ length: steps + 1 }, (_, t) => sparsityAt(s, t));
}
