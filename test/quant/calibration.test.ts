import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { mulberry32 } from '../../src/math/random.ts';
import { ActivationStats } from '../../src/quant/calibration/activation-stats.ts';
import { calibratedRange, type CalibrationMethod } from '../../src/quant/calibration/calibrators.ts';
import { StreamingHistogram } from '../../src/quant/calibration/histogram.ts';
import { affineParams, qrange } from '../../src/quant/scales.ts';
import { memoryDataset } from './graphs.ts';

function gaussian(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

function laplace(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => {
    const u = r() - 0.5;
    return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  });
}

const sorted = (v: ArrayLike<number>) => Float64Array.from(v).sort();
const exactQuantile = (s: Float64Array, q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
/** The q-quantile lies between the k-th and (k+1)-th smallest values, k = ceil(q·n). */
const quantileBounds = (s: Float64Array, q: number): [number, number] => {
  const k = Math.ceil(q * s.length);
  return [s[Math.max(0, k - 1)]!, s[Math.min(s.length - 1, k)]!];
};

/** Mean squared error of quantizing `v` to uint8 over [lo, hi], computed directly on the samples. */
function mseOf(v: ArrayLike<number>, lo: number, hi: number): number {
  const r = qrange('uint8');
  const { scale, zeroPoint } = affineParams(lo, hi, r);
  let e = 0;
  for (let i = 0; i < v.length; i++) {
    const q = Math.min(r.qmax, Math.max(r.qmin, Math.round(v[i]! / scale) + zeroPoint));
    e += (v[i]! - (q - zeroPoint) * scale) ** 2;
  }
  return e / v.length;
}

/** Feeds values in chunks, as batches arrive. */
function histogramOf(v: ArrayLike<number>, chunk = 997, bins = 2048): StreamingHistogram {
  const h = new StreamingHistogram(bins);
  for (let i = 0; i < v.length; i += chunk) h.add(Array.prototype.slice.call(v, i, i + chunk) as number[]);
  return h;
}

describe('quantize: streaming histogram', () => {
  it('quantize: re-binning as the range grows keeps every count and quantiles within one bin', () => {
    // Growing magnitudes force the window to slide and the width to double many times.
    const v = Float64Array.from(gaussian(50_000, 1), (x, i) => x * (1 + i / 1000));
    const h = histogramOf(v);
    const snap = h.snapshot();
    expect(snap.counts.reduce((a, b) => a + b, 0) + h.zeros).toBe(v.length);
    const s = sorted(v);
    expect(h.min).toBe(s[0]);
    expect(h.max).toBe(s[s.length - 1]);
    for (const q of [0.001, 0.1, 0.5, 0.9, 0.999]) {
      const [a, b] = quantileBounds(s, q);
      expect(h.quantile(q)).toBeGreaterThanOrEqual(a - h.width);
      expect(h.quantile(q)).toBeLessThanOrEqual(b + h.width);
    }
  });

  it('quantize: merging equals one histogram of the concatenated values', () => {
    const a = Float64Array.from(gaussian(20_000, 2), (x) => x * 0.01);
    const b = Float64Array.from(gaussian(20_000, 3), (x) => 5 + x * 3);
    const merged = histogramOf(a);
    merged.merge(histogramOf(b));
    const all = new Float64Array([...a, ...b]);
    const whole = histogramOf(all);
    expect(merged.total).toBe(whole.total);
    expect([merged.min, merged.max]).toEqual([whole.min, whole.max]);
    for (const q of [0.01, 0.25, 0.5, 0.75, 0.99]) {
      expect(Math.abs(merged.quantile(q) - whole.quantile(q))).toBeLessThanOrEqual(2 * Math.max(merged.width, whole.width));
    }
  });

  it('quantize: zeros are counted exactly and |x| folds negative bins onto positive ones', () => {
    const h = new StreamingHistogram(64);
    h.add([0, 0, 0, -1.3, 1.3, 0.25]);
    expect(h.zeros).toBe(3);
    const abs = h.absolute();
    const at = (x: number) => abs.counts[Math.floor(x / abs.width)];
    expect(at(1.3)).toBe(2);
    expect(at(0.25)).toBe(1);
    expect(abs.counts.reduce((a, b) => a + b, 0)).toBe(6);
    expect(h.quantile(0.5)).toBe(0);
  });
});

describe('quantize: calibration methods on known distributions', () => {
  const v = Float64Array.from(gaussian(100_000, 5));
  v[7] = 40; // one outlier far outside N(0, 1)
  v[8] = -25;
  const h = histogramOf(v);
  const range = (method: CalibrationMethod, percentile?: number) => calibratedRange(h, { method, percentile, type: 'uint8' });

  it('quantize: minmax is the exact observed range', () => {
    expect(range('minmax')).toEqual({ lo: -25, hi: 40 });
  });

  it('quantize: percentile matches the exact two-sided quantiles of N(0,1)', () => {
    const r = range('percentile', 99.9);
    const s = sorted(v);
    expect(r.lo).toBeCloseTo(exactQuantile(s, 0.001), 1);
    expect(r.hi).toBeCloseTo(exactQuantile(s, 0.999), 1);
    expect(r.hi).toBeGreaterThan(3.0); // Φ⁻¹(0.999) = 3.09
    expect(r.hi).toBeLessThan(3.2);
  });

  it('quantize: entropy clips the outliers at about 4σ, as TensorRT does on a Gaussian', () => {
    const r = range('entropy');
    expect(r.hi).toBeGreaterThan(3);
    expect(r.hi).toBeLessThan(5);
    expect(r.lo).toBeCloseTo(-r.hi, 6);
  });

  it('quantize: mse finds the clipping range with the least squared error on a heavy-tailed (Laplace) distribution', () => {
    const l = laplace(100_000, 7);
    const hl = histogramOf(l);
    const best = calibratedRange(hl, { method: 'mse', type: 'uint8' });
    const s = sorted(l);
    const mseBest = mseOf(l, best.lo, best.hi);
    expect(best.hi).toBeLessThan(s[s.length - 1]!);
    expect(mseBest).toBeLessThan(0.9 * mseOf(l, s[0]!, s[s.length - 1]!));
    // Nothing on a grid of symmetric ranges does better by more than 3 %.
    for (let t = 2; t <= 12; t += 0.5) expect(mseBest).toBeLessThanOrEqual(1.03 * mseOf(l, -t, t));
    // On the Gaussian with two far outliers, keeping the outliers is what minimizes squared error.
    expect(mseOf(v, range('mse').lo, range('mse').hi)).toBeLessThanOrEqual(1.01 * mseOf(v, -25, 40));
  });

  it('quantize: on non-negative (ReLU-like) data the low end stays at 0', () => {
    const relu = Float64Array.from(gaussian(50_000, 9), (x) => Math.max(0, x));
    const hr = histogramOf(relu);
    for (const method of ['minmax', 'percentile', 'entropy', 'mse'] as const) {
      const r = calibratedRange(hr, { method, type: 'uint8' });
      expect(r.lo).toBe(0);
      expect(r.hi).toBeGreaterThan(1.5);
      expect(r.hi).toBeLessThanOrEqual(hr.max);
    }
  });
});

describe('quantize: calibration memory does not grow with the sample count', () => {
  it('quantize: histograms hold the same bytes after 100 and after 5000 samples', async () => {
    const b = new GraphBuilder('relu');
    b.input('x', 'float32', ['N', 64]);
    b.node('Relu', ['x'], {}, { outputs: ['r'] });
    b.node('Neg', ['r'], {}, { outputs: ['y'] });
    b.output('y', 'float32', ['N', 64]);
    const model = b.build();
    const bytes: number[] = [];
    const r = mulberry32(3);
    const x = Float32Array.from({ length: 5000 * 64 }, () => (r() - 0.5) * 10 * (1 + r() * 9));
    for (const samples of [100, 5000]) {
      const stats = new ActivationStats();
      await stats.collect(model, ['r', 'y'], { dataset: memoryDataset(x, [5000, 64]), limit: samples, batchSize: 50 });
      expect(stats.samples).toBe(samples);
      expect(stats.histograms.get('r')!.total).toBe(samples * 64);
      bytes.push(stats.stateBytes);
    }
    expect(bytes[0]).toBe(2 * 2048 * 8);
    expect(bytes[1]).toBe(bytes[0]);
  });
});
