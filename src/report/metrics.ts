/**
 * Accuracy and agreement metrics. Accumulators take one batch at a time and keep O(1) state,
 * so a data set of any length streams through. Sums are float64.
 */
import { sqnrDb } from '../math/sqnr.ts';
import { InputError } from '../errors.ts';

/** Index of the largest of `length` values from `offset`; -1 if any is NaN (counts as wrong). */
export function argmax(values: ArrayLike<number>, offset: number, length: number): number {
  let best = -1;
  let max = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = values[offset + i]!;
    if (v !== v) return -1;
    if (best < 0 || v > max) {
      best = i;
      max = v;
    }
  }
  return best;
}

function rowSize(what: string, length: number, rows: number): number {
  const size = rows === 0 ? 0 : length / rows;
  if (!Number.isInteger(size) || (rows > 0 && size === 0)) {
    throw new InputError(`${what}: ${length} output values do not split into ${rows} samples`);
  }
  return size;
}

export interface Accuracy {
  /** Top-1 accuracy as a fraction in [0, 1]. */
  top1: number;
  samples: number;
}

export class AccuracyMeter {
  private correct = 0;
  private samples = 0;

  /** `logits` is row-major [labels.length, classes]; probabilities work as well. */
  add(logits: ArrayLike<number>, labels: ArrayLike<number | bigint>): void {
    const classes = rowSize('accuracy', logits.length, labels.length);
    for (let r = 0; r < labels.length; r++) {
      const label = Number(labels[r]);
      if (!Number.isInteger(label) || label < 0 || label >= classes) {
        throw new InputError(`label ${String(labels[r])} of sample ${this.samples + r} is outside 0..${classes - 1} (the output has ${classes} classes)`);
      }
      if (argmax(logits, r * classes, classes) === label) this.correct++;
    }
    this.samples += labels.length;
  }

  /** top1 is NaN before any sample. */
  result(): Accuracy {
    return { top1: this.correct / this.samples, samples: this.samples };
  }
}

export function top1Accuracy(logits: ArrayLike<number>, labels: ArrayLike<number | bigint>): number {
  const m = new AccuracyMeter();
  m.add(logits, labels);
  return m.result().top1;
}

/** How closely a candidate's outputs follow a baseline's on the same samples. */
export interface Agreement {
  samples: number;
  /** Fraction of samples whose top-1 class is the same. */
  top1Match: number;
  maxAbsError: number;
  meanAbsError: number;
  /** Mean over samples of the cosine similarity of the two output rows. */
  cosine: number;
  /** 10·log10(Σ baseline² / Σ (baseline − candidate)²); +Infinity when identical. */
  sqnrDb: number;
}

/**
 * The JSON form of SQNR is a number clamped to ±SQNR_CAP_DB: identical outputs give +999.
 * A cap (not null) keeps `sqnrDb >= 40` checks working in any consumer; float32 rounding noise
 * alone stays far below it (≈150 dB).
 */
export const SQNR_CAP_DB = 999;

export { sqnrDb };

export function capSqnr(db: number): number {
  return Math.max(-SQNR_CAP_DB, Math.min(SQNR_CAP_DB, db));
}

export function agreementToJson(a: Agreement): Agreement {
  return { ...a, sqnrDb: capSqnr(a.sqnrDb) };
}

/** Cosine of two rows; two zero rows agree fully (1), one zero row not at all (0). */
export function rowCosine(dot: number, aa: number, bb: number): number {
  if (aa === 0 && bb === 0) return 1;
  if (aa === 0 || bb === 0) return 0;
  return dot / Math.sqrt(aa * bb);
}

export class AgreementMeter {
  private samples = 0;
  private matches = 0;
  private values = 0;
  private maxAbs = 0;
  private sumAbs = 0;
  private sumCos = 0;
  private signal = 0;
  private noise = 0;

  /** `baseline` and `candidate`: row-major [rows, ...], the same samples in the same order. */
  add(baseline: ArrayLike<number>, candidate: ArrayLike<number>, rows: number): void {
    if (baseline.length !== candidate.length) {
      throw new InputError(`agreement: baseline has ${baseline.length} output values, candidate ${candidate.length}`);
    }
    const size = rowSize('agreement', baseline.length, rows);
    for (let r = 0; r < rows; r++) {
      const o = r * size;
      const top = argmax(baseline, o, size);
      if (top >= 0 && top === argmax(candidate, o, size)) this.matches++;
      let dot = 0;
      let bb = 0;
      let cc = 0;
      for (let i = o; i < o + size; i++) {
        const b = baseline[i]!;
        const c = candidate[i]!;
        const err = Math.abs(b - c);
        // A NaN error sticks, so broken outputs show instead of hiding behind comparisons.
        if (!(err <= this.maxAbs) && this.maxAbs === this.maxAbs) this.maxAbs = err;
        this.sumAbs += err;
        this.noise += err * err;
        dot += b * c;
        bb += b * b;
        cc += c * c;
      }
      this.signal += bb;
      this.sumCos += rowCosine(dot, bb, cc);
    }
    this.samples += rows;
    this.values += baseline.length;
  }

  result(): Agreement {
    return {
      samples: this.samples,
      top1Match: this.matches / this.samples,
      maxAbsError: this.maxAbs,
      meanAbsError: this.sumAbs / this.values,
      cosine: this.sumCos / this.samples,
      sqnrDb: sqnrDb(this.signal, this.noise),
    };
  }
}

export function agreement(baseline: ArrayLike<number>, candidate: ArrayLike<number>, rows: number): Agreement {
  const m = new AgreementMeter();
  m.add(baseline, candidate, rows);
  return m.result();
}
