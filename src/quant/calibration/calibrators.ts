/**
 * Calibration methods: from a tensor's streaming histogram to the real range [lo, hi] its
 * quantization parameters cover. Values outside the range saturate; a narrower range gives
 * finer steps inside it. Each method is a different answer to that trade-off:
 *
 * - minmax: the exact observed range (no saturation; outliers widen the step).
 * - percentile: clip the given two-sided percentile (99.99 keeps 99.98 % of values inside).
 * - entropy: the TensorRT KL-divergence threshold on |x|: the clipping point whose
 *   quantized distribution loses the least information.
 * - mse: the range minimizing the expected squared error (rounding inside, clipping
 *   outside), searched on the histogram.
 */
import { affineParams, qrange, type QRange } from '../scales.ts';
import type { StreamingHistogram } from './histogram.ts';

import type { CalibrationMethod } from '../int8/options.ts';

export { CALIBRATION_METHODS, type CalibrationMethod } from '../int8/options.ts';

export interface RangeOptions {
  method: CalibrationMethod;
  /** Two-sided percentile for 'percentile', in (50, 100]. Default 99.99. */
  percentile?: number;
  /** The activation type the range is for (its level count matters to entropy and mse). */
  type?: 'uint8' | 'int8';
}

export interface Range {
  lo: number;
  hi: number;
}

export function calibratedRange(h: StreamingHistogram, opts: RangeOptions): Range {
  if (h.total === 0) return { lo: 0, hi: 0 };
  switch (opts.method) {
    case 'minmax':
      return { lo: h.min, hi: h.max };
    case 'percentile':
      return percentileRange(h, opts.percentile ?? 99.99);
    case 'entropy':
      return entropyRange(h);
    case 'mse':
      return mseRange(h, qrange(opts.type ?? 'uint8'));
  }
}

function percentileRange(h: StreamingHistogram, p: number): Range {
  if (!(p > 50 && p <= 100)) throw new RangeError(`percentile must be in (50, 100], got ${p}`);
  const tail = 1 - p / 100;
  return { lo: h.min >= 0 ? h.min : h.quantile(tail), hi: h.max <= 0 ? h.max : h.quantile(1 - tail) };
}

/** Bins the KL search runs on (as TensorRT): thresholds go down to maxAbs · levels / KL_BINS. */
const KL_BINS = 2048;

/**
 * KL-divergence threshold (TensorRT's method, as in onnxruntime's entropy calibrator) on
 * the |x| histogram: 128 levels for signed data, 256 for non-negative data. The |x|
 * histogram is first resampled to 2048 bins (a coarser streaming histogram spreads each
 * bin's count evenly), so the smallest candidate is always 1/16 (signed) of the range.
 * Bin 0's count is replaced by bin 1's, as TensorRT does, and the threshold is kept at or above
 * the 99.9th percentile of |x|.
 */
function entropyRange(h: StreamingHistogram): Range {
  const abs = h.absolute();
  // The spike at 0 (ReLU outputs, blank pixels) says nothing about where to clip: as in
  // TensorRT's calibrator, bin 0 takes its neighbour's count.
  if (abs.counts.length > 1) abs.counts[0] = abs.counts[1]!;
  const levels = h.min >= 0 ? 256 : 128;
  const hist = resample(abs.counts, KL_BINS);
  const kl = klThreshold(hist, levels) * ((abs.counts.length * abs.width) / KL_BINS);
  // Guard: never below the 99.9th percentile of |x| (non-zero values). Spiky distributions —
  // a constant per channel over blank image areas — pull the KL optimum onto the spikes and
  // clip most of the range (a DS-CNN stem: 0.72 of 5.76, −31 points of accuracy).
  const t = Math.max(kl, absQuantile(h, 0.999));
  return { lo: Math.max(h.min, -t), hi: Math.min(h.max, t) };
}

/** Quantile of |x| over the non-zero values (upper edge of the bin where it falls). */
function absQuantile(h: StreamingHistogram, q: number): number {
  const { counts, width } = h.absolute();
  counts[0]! -= h.zeros;
  const total = counts.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= q * total) return (i + 1) * width;
  }
  return counts.length * width;
}

/** Redistributes `counts` (equal bins) over `n` equal bins spanning the same interval. */
export function resample(counts: ArrayLike<number>, n: number): Float64Array {
  const m = counts.length;
  const out = new Float64Array(n);
  if (m === 0) return out;
  const ratio = n / m; // output bins per input bin
  for (let i = 0; i < m; i++) {
    const c = counts[i]!;
    if (!c) continue;
    const a = i * ratio;
    const b = (i + 1) * ratio;
    for (let j = Math.floor(a); j < Math.min(n, Math.ceil(b)); j++) {
      const overlap = Math.min(b, j + 1) - Math.max(a, j);
      if (overlap > 0) out[j]! += (c * overlap) / ratio;
    }
  }
  return out;
}

/** Bin count (a threshold at `i` bins) minimizing KL(P‖Q); the full length when too short to clip. */
export function klThreshold(hist: ArrayLike<number>, levels: number): number {
  const n = hist.length;
  if (n <= levels) return n;
  // Suffix sums give the outlier mass folded into the last kept bin.
  const suffix = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + hist[i]!;
  const step = Math.max(1, Math.floor((n - levels) / 512));
  let best = n;
  let bestKl = Infinity;
  const p = new Float64Array(n);
  const q = new Float64Array(n);
  for (let i = levels; i <= n; i += step) {
    for (let j = 0; j < i; j++) p[j] = hist[j]!;
    p[i - 1]! += suffix[i]!;
    // Merge the first i bins into `levels` chunks, then spread each chunk's mass evenly
    // over its non-empty bins.
    for (let k = 0; k < levels; k++) {
      const a = Math.floor((k * i) / levels);
      const b = k === levels - 1 ? i : Math.floor(((k + 1) * i) / levels);
      let sum = 0;
      let nonzero = 0;
      for (let j = a; j < b; j++) {
        sum += hist[j]!;
        if (p[j] !== 0) nonzero++;
      }
      const each = nonzero ? sum / nonzero : 0;
      for (let j = a; j < b; j++) q[j] = p[j] !== 0 ? each : 0;
    }
    const kl = divergence(p, q, i);
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return best;
}

/** KL(P‖Q) over the first n bins, both normalized, Q smoothed where P has mass and Q none. */
function divergence(p: Float64Array, q: Float64Array, n: number): number {
  const eps = 1e-4;
  let sp = 0;
  let sq = 0;
  let zerosQ = 0;
  let nonzerosQ = 0;
  for (let j = 0; j < n; j++) {
    sp += p[j]!;
    sq += q[j]!;
    if (q[j] === 0) zerosQ++;
    else nonzerosQ++;
  }
  if (sp === 0 || sq === 0) return Infinity;
  // Smoothing as in onnxruntime: move eps·zeros of mass from non-empty to empty bins.
  const take = nonzerosQ ? (eps * zerosQ) / nonzerosQ : 0;
  let kl = 0;
  for (let j = 0; j < n; j++) {
    const pj = p[j]! / sp;
    if (pj === 0) continue;
    const qj = q[j] === 0 ? eps : q[j]! / sq - take;
    kl += pj * Math.log(pj / Math.max(qj, 1e-12));
  }
  return kl;
}

/**
 * Expected squared error of quantizing the histogram's values to [lo, hi]: rounding noise
 * s²/12 for every value inside (exact zeros cost nothing), and the squared distance to the
 * nearest end for every value outside.
 */
export function histogramMse(h: StreamingHistogram, snapshot: { counts: Float64Array; lo: number; width: number }, lo: number, hi: number, range: QRange): number {
  const { scale, zeroPoint } = affineParams(lo, hi, range);
  const qlo = (range.qmin - zeroPoint) * scale;
  const qhi = (range.qmax - zeroPoint) * scale;
  const { counts, width } = snapshot;
  const noise = (scale * scale) / 12;
  let err = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    const x = snapshot.lo + (i + 0.5) * width;
    if (x < qlo) err += c * (x - qlo) * (x - qlo);
    else if (x > qhi) err += c * (x - qhi) * (x - qhi);
    else err += c * noise;
  }
  return err / Math.max(1, h.total);
}

function mseRange(h: StreamingHistogram, range: QRange): Range {
  const snap = h.snapshot();
  if (snap.counts.length === 0) return { lo: h.min, hi: h.max };
  const evalRange = (lo: number, hi: number) => histogramMse(h, snap, lo, hi, range);
  const los = h.min < 0 ? candidates(h.min) : [h.min];
  const his = h.max > 0 ? candidates(h.max) : [h.max];
  let best = { lo: h.min, hi: h.max, err: evalRange(h.min, h.max) };
  // Coarse grid, then a finer pass around the best point.
  for (const lo of los) for (const hi of his) {
    const err = evalRange(lo, hi);
    if (err < best.err) best = { lo, hi, err };
  }
  const refine = (v: number, end: number) => (end === 0 || v === end ? [v] : Array.from({ length: 11 }, (_, k) => v + ((k - 5) / 5) * 0.025 * end).filter((x) => Math.abs(x) <= Math.abs(end) && Math.sign(x) === Math.sign(end)));
  for (const lo of h.min < 0 ? refine(best.lo, h.min) : [best.lo]) {
    for (const hi of h.max > 0 ? refine(best.hi, h.max) : [best.hi]) {
      const err = evalRange(lo, hi);
      if (err < best.err) best = { lo, hi, err };
    }
  }
  return { lo: best.lo, hi: best.hi };
}

/** Clipping points end·f for f from 2.5 % to 100 % in 2.5 % steps. */
function candidates(end: number): number[] {
  return Array.from({ length: 40 }, (_, k) => end * ((k + 1) / 40));
}
