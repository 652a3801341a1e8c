/**
 * int4 math against straightforward float64 reference implementations written here, not
 * shared with the code under test: packing, round-to-nearest block quantization, the two
 * storage layouts, Cholesky, and GPTQ (checked against the original OBS formulation with an
 * explicit inverse that is downdated after every quantized row).
 */
import { describe, expect, it } from 'vitest';
import { dequantizeBlockwise, quantizeRtn, type BlockQuantized, type Int4Scheme } from '../../src/quant/int4/block.ts';
import { dqLayout, nbitsLayout } from '../../src/quant/int4/layout.ts';
import { packNibbles, unpackNibbles } from '../../src/quant/int4/pack4.ts';
import { HessianAccumulator, cholesky, lowerInverse, upperCholeskyOfInverse } from '../../src/quant/int4/gptq-linalg.ts';
import { hessianRelativeError, quantizeGptq, relativeOutputError } from '../../src/quant/int4/gptq.ts';
import { mulberry32 } from '../../src/math/random.ts';

// ---------- references ----------

function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface RefParams {
  scale: number;
  zp: number;
}

function refParams(values: number[], scheme: Int4Scheme): RefParams {
  if (scheme === 'symmetric') {
    const m = Math.max(...values.map(Math.abs));
    const s = Math.fround(m / 7);
    return { scale: s > 0 ? s : 1, zp: 0 };
  }
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const s = Math.fround((hi - lo) / 15);
  if (!(s > 0)) return { scale: 1, zp: 0 };
  return { scale: s, zp: Math.min(15, Math.max(0, roundEven(-lo / s))) };
}

function refCode(x: number, p: RefParams, scheme: Int4Scheme): number {
  const [lo, hi] = scheme === 'symmetric' ? [-7, 7] : [0, 15];
  return Math.min(hi, Math.max(lo, roundEven(x / p.scale) + p.zp));
}

/** Plain RTN: for each column, for each block of rows, params then codes. Returns codes [K][N] and params [block][N]. */
function refRtn(w: ArrayLike<number>, K: number, N: number, B: number, scheme: Int4Scheme) {
  const codes: number[][] = Array.from({ length: K }, () => new Array<number>(N).fill(0));
  const params: RefParams[][] = [];
  for (let b = 0; b * B < K; b++) {
    params.push([]);
    for (let n = 0; n < N; n++) {
      const rows = Array.from({ length: Math.min(B, K - b * B) }, (_, i) => b * B + i);
      const p = refParams(rows.map((k) => w[k * N + n]!), scheme);
      params[b]!.push(p);
      for (const k of rows) codes[k]![n] = refCode(w[k * N + n]!, p, scheme);
    }
  }
  return { codes, params };
}

/** Gauss–Jordan inverse with partial pivoting. */
function refInverse(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const d = m[c]![c]!;
    for (let j = 0; j < 2 * n; j++) m[c]![j]! /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let j = 0; j < 2 * n; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  return m.map((row) => row.slice(n));
}

/**
 * GPTQ as first written (OBS, one row at a time): with F the rows not yet quantized and
 * Hinv_F the inverse Hessian restricted to them, quantize row k, W_F −= (w_k − ŵ_k) / Hinv_F[k][k]
 * · Hinv_F[k][:], then remove k from Hinv_F (Gaussian elimination step).
 */
function refGptq(w: ArrayLike<number>, K: number, N: number, h: Float64Array, B: number, scheme: Int4Scheme, damp: number) {
  const H = Array.from({ length: K }, (_, i) => Array.from({ length: K }, (_, j) => h[i * K + j]!));
  for (let i = 0; i < K; i++) if (H[i]![i] === 0) H[i]![i] = 1;
  const mean = H.reduce((s, row, i) => s + row[i]!, 0) / K;
  for (let i = 0; i < K; i++) H[i]![i]! += damp * mean;
  const inv = refInverse(H);
  const W = Array.from({ length: K }, (_, k) => Array.from({ length: N }, (_, n) => w[k * N + n]!));
  const codes: number[][] = [];
  const params: RefParams[][] = [];
  for (let k = 0; k < K; k++) {
    if (k % B === 0) {
      params.push(Array.from({ length: N }, (_, n) => refParams(W.slice(k, Math.min(K, k + B)).map((row) => row[n]!), scheme)));
    }
    const p = params[params.length - 1]!;
    codes.push(W[k]!.map((x, n) => refCode(x, p[n]!, scheme)));
    const d = inv[k]![k]!;
    const err = W[k]!.map((x, n) => (x - (codes[k]![n]! - p[n]!.zp) * p[n]!.scale) / d);
    for (let j = k + 1; j < K; j++) for (let n = 0; n < N; n++) W[j]![n]! -= err[n]! * inv[k]![j]!;
    for (let i = k + 1; i < K; i++) {
      for (let j = k + 1; j < K; j++) inv[i]![j]! -= (inv[i]![k]! * inv[k]![j]!) / d;
    }
  }
  return { codes, params };
}

function refMatMul(x: ArrayLike<number>, w: ArrayLike<number>, rows: number, K: number, N: number): Float64Array {
  const y = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) y[r * N + n] += x[r * K + k]! * w[k * N + n]!;
  return y;
}

// ---------- data ----------

function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: rows * cols }, () => gaussian(rng));
}

/** Correlated inputs with uneven feature scales, like a transformer's activations. */
function correlatedInputs(rows: number, K: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const mix = randomMatrix(K, K, 99); // fixed mixing, shared by calibration and held-out sets
  const featScale = Float64Array.from({ length: K }, (_, k) => 0.2 + 3 * ((k * 7) % 11) / 11);
  const x = new Float32Array(rows * K);
  const z = new Float64Array(K);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < K; k++) z[k] = gaussian(rng);
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let j = 0; j < K; j++) s += z[j]! * mix[j * K + k]!;
      x[r * K + k] = (s / Math.sqrt(K) + 0.3 * z[k]!) * featScale[k]!;
    }
  }
  return x;
}

const codesOf = (q: BlockQuantized, K: number, N: number) => Array.from({ length: K }, (_, k) => Array.from(q.codes.subarray(k * N, (k + 1) * N)));

// ---------- tests ----------

describe('int4 packing', () => {
  it('pack4: low nibble first, odd count leaves the last high nibble 0', () => {
    expect(Array.from(packNibbles([1, 2, 15, 0, 7]))).toEqual([0x21, 0x0f, 0x07]);
    expect(Array.from(packNibbles([-1, -8, 3, -2]))).toEqual([0x8f, 0xe3]);
  });

  it('pack4: unpack inverts pack for signed and unsigned codes', () => {
    const rng = mulberry32(3);
    const s = Int8Array.from({ length: 101 }, () => Math.floor(rng() * 16) - 8);
    const u = Uint8Array.from({ length: 101 }, () => Math.floor(rng() * 16));
    expect(Array.from(unpackNibbles(packNibbles(s), 101, true))).toEqual(Array.from(s));
    expect(Array.from(unpackNibbles(packNibbles(u), 101, false))).toEqual(Array.from(u));
    expect(() => unpackNibbles(new Uint8Array(2), 5, false)).toThrow(RangeError);
  });
});

describe('int4 round-to-nearest', () => {
  for (const scheme of ['symmetric', 'asymmetric'] as const) {
    it(`rtn: ${scheme} codes, scales and zero points equal the float64 reference (K not a multiple of the block)`, () => {
      const K = 80;
      const N = 7;
      const w = randomMatrix(K, N, 5);
      w[3] = 0; // exact zeros and a constant block column stay representable
      for (let k = 64; k < 80; k++) w[k * N + 2] = 0.25;
      const q = quantizeRtn(w, K, N, 32, scheme);
      const ref = refRtn(w, K, N, 32, scheme);
      expect(codesOf(q, K, N)).toEqual(ref.codes);
      expect(Array.from(q.scales)).toEqual(ref.params.flat().map((p) => p.scale));
      if (scheme === 'asymmetric') expect(Array.from(q.zeroPoints!)).toEqual(ref.params.flat().map((p) => p.zp));
      else expect(q.zeroPoints).toBeUndefined();
      const deq = dequantizeBlockwise(q);
      for (let i = 0; i < K * N; i++) {
        const p = ref.params[Math.floor(Math.floor(i / N) / 32)]![i % N]!;
        expect(deq[i]).toBe((ref.codes[Math.floor(i / N)]![i % N]! - p.zp) * p.scale);
        expect(Math.abs(deq[i]! - w[i]!)).toBeLessThanOrEqual(p.scale / 2 + 1e-7);
      }
    });
  }

  it('rtn: an all-zero block gets scale 1 and dequantizes to zeros', () => {
    const q = quantizeRtn(new Float32Array(32 * 2), 32, 2, 32, 'asymmetric');
    expect(Array.from(q.scales)).toEqual([1, 1]);
    expect(Array.from(dequantizeBlockwise(q))).toEqual(new Array(64).fill(0));
  });
});

describe('int4 layouts', () => {
  const K = 80;
  const N = 3;
  const B = 32;
  for (const scheme of ['symmetric', 'asymmetric'] as const) {
    const q = quantizeRtn(randomMatrix(K, N, 11), K, N, B, scheme);
    const deq = dequantizeBlockwise(q);

    it(`layout: DequantizeLinear tensors (${scheme}) dequantize to Ŵ along axis 0 and, transposed, along axis 1`, () => {
      for (const kAxis of [0, 1] as const) {
        const l = dqLayout(q, kAxis);
        const codes = unpackNibbles(l.codes, K * N, l.dtype === 'int4');
        const zps = l.zeroPoints ? unpackNibbles(l.zeroPoints, l.scales.length, false) : undefined;
        const [rows, cols] = l.dims;
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const si = kAxis === 0 ? Math.floor(r / B) * cols + c : r * l.scaleDims[1] + Math.floor(c / B);
            const v = (codes[r * cols + c]! - (zps?.[si] ?? 0)) * l.scales[si]!;
            const [k, n] = kAxis === 0 ? [r, c] : [c, r];
            expect(v).toBe(deq[k * N + n]);
          }
        }
      }
    });

    it(`layout: MatMulNBits blobs (${scheme}) dequantize to Ŵ, padding to exactly 0`, () => {
      const l = nbitsLayout(q);
      const nb = Math.ceil(K / B);
      expect(l.bDims).toEqual([N, nb, B / 2]);
      for (let n = 0; n < N; n++) {
        const col = unpackNibbles(l.b.subarray(n * nb * (B / 2), (n + 1) * nb * (B / 2)), nb * B, false);
        const zp = l.zeroPoints ? unpackNibbles(l.zeroPoints.subarray(n * l.zeroPointDims![1]), nb, false) : new Uint8Array(nb).fill(8);
        for (let k = 0; k < nb * B; k++) {
          const b = Math.floor(k / B);
          const v = (col[k]! - zp[b]!) * l.scales[n * nb + b]!;
          expect(v).toBe(k < K ? deq[k * N + n] : 0);
        }
      }
    });
  }
});

describe('GPTQ', () => {
  it('cholesky: L·Lᵀ = A, lowerInverse(L)·L = I, UᵀU·A = I with U upper; undefined when not positive definite', () => {
    const n = 6;
    const m = randomMatrix(n, n, 21);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += m[i * n + k]! * m[j * n + k]!;
    for (let i = 0; i < n; i++) a[i * n + i] += 0.1;
    const l = cholesky(a, n)!;
    const li = lowerInverse(l, n);
    const u = upperCholeskyOfInverse(a, n)!;
    const inv = refInverse(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n))));
    for (let i = 0; i < n; i++) {
      expect(u[i * n + i]).toBeGreaterThan(0);
      for (let j = 0; j < n; j++) {
        let llt = 0;
        let mi = 0;
        let utu = 0;
        for (let k = 0; k < n; k++) {
          llt += l[i * n + k]! * l[j * n + k]!;
          mi += li[i * n + k]! * l[k * n + j]!;
          utu += u[k * n + i]! * u[k * n + j]!;
        }
        expect(llt).toBeCloseTo(a[i * n + j]!, 10);
        expect(mi).toBeCloseTo(i === j ? 1 : 0, 10);
        expect(utu).toBeCloseTo(inv[i]![j]!, 8);
        if (j < i) expect(u[i * n + j]).toBe(0);
      }
    }
    expect(cholesky(Float64Array.of(1, 2, 2, 1), 2)).toBeUndefined();
    expect(upperCholeskyOfInverse(Float64Array.of(1, 2, 2, 1), 2)).toBeUndefined();
  });

  it('hessian: streaming over batches gives 2·XᵀX / rows of all rows at once', () => {
    const K = 5;
    const x = randomMatrix(30, K, 8);
    const acc = new HessianAccumulator(K);
    acc.add(x.subarray(0, 7 * K));
    acc.add(x.subarray(7 * K));
    const h = acc.hessian();
    expect(acc.count).toBe(30);
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        let s = 0;
        for (let r = 0; r < 30; r++) s += x[r * K + i]! * x[r * K + j]!;
        expect(h[i * K + j]).toBeCloseTo((2 * s) / 30, 10);
      }
    }
  });

  for (const scheme of ['symmetric', 'asymmetric'] as const) {
    it(`gptq: ${scheme} codes and scales equal the OBS reference with an explicit inverse`, () => {
      const K = 48;
      const N = 6;
      const B = 16;
      const w = randomMatrix(K, N, 31);
      const acc = new HessianAccumulator(K);
      const x = correlatedInputs(200, K, 32);
      for (let r = 0; r < 200; r++) if (r % 3 === 0) x[r * K + 5] = 0;
      for (let r = 0; r < 200; r++) x[r * K + 40] = 0; // a dead input
      acc.add(x);
      const h = acc.hessian();
      const got = quantizeGptq(w, K, N, h, { blockSize: B, scheme, damp: 0.01 });
      const ref = refGptq(w, K, N, h, B, scheme, 0.01);
      expect(got.deadInputs).toBe(1);
      const scales = ref.params.flat().map((p) => p.scale);
      Array.from(got.quantized.scales).forEach((s, i) => expect(s).toBeCloseTo(scales[i]!, 5));
      const codes = codesOf(got.quantized, K, N).flat();
      expect(codes).toEqual(ref.codes.flat());
    });
  }

  it('gptq: a singular Hessian without dampening gets dampening raised until it factors', () => {
    const acc = new HessianAccumulator(32);
    acc.add(randomMatrix(1, 32, 5)); // rank 1
    const got = quantizeGptq(randomMatrix(32, 4, 6), 32, 4, acc.hessian(), { blockSize: 32, scheme: 'symmetric', damp: 0 });
    expect(got.damp).toBe(0.01);
  });

  it('gptq: beats round-to-nearest on held-out inputs of a synthetic layer', () => {
    const K = 128;
    const N = 32;
    const w = randomMatrix(K, N, 41);
    const acc = new HessianAccumulator(K);
    acc.add(correlatedInputs(512, K, 42));
    const held = correlatedInputs(256, K, 43);
    for (const scheme of ['symmetric', 'asymmetric'] as const) {
      for (const B of [32, 128]) {
        const rtn = relativeOutputError(held, w, dequantizeBlockwise(quantizeRtn(w, K, N, B, scheme)), K, N);
        const gptq = relativeOutputError(held, w, dequantizeBlockwise(quantizeGptq(w, K, N, acc.hessian(), { blockSize: B, scheme }).quantized), K, N);
        expect(gptq).toBeLessThan(0.8 * rtn);
      }
    }
  });

  it('gptq: relativeOutputError and hessianRelativeError (from H alone) match a direct float64 computation', () => {
    const x = randomMatrix(4, 3, 1);
    const a = randomMatrix(3, 2, 2);
    const b = randomMatrix(3, 2, 3);
    const ya = refMatMul(x, a, 4, 3, 2);
    const yb = refMatMul(x, b, 4, 3, 2);
    const num = ya.reduce((s, v, i) => s + (v - yb[i]!) ** 2, 0);
    const den = ya.reduce((s, v) => s + v * v, 0);
    expect(relativeOutputError(x, a, b, 3, 2)).toBeCloseTo(num / den, 12);
    const acc = new HessianAccumulator(3);
    acc.add(x);
    expect(hessianRelativeError(acc.hessian(), a, b, 3, 2)).toBeCloseTo(num / den, 12);
  });
});
