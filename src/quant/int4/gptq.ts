/**
 * GPTQ (Frantar et al., 2022, "GPTQ: Accurate Post-Training Quantization for Generative
 * Pre-trained Transformers"), block-wise int4, as a pure function of the weight W [K, N] and
 * the Hessian H = 2·XᵀX [K, K] of the layer's calibration inputs X [rows, K].
 *
 * Input features (rows of W) are quantized one at a time, in order. The rounding error of
 * row k, divided by the k-th diagonal entry of U (the upper Cholesky factor of H⁻¹), is
 * spread over the rows not yet quantized in proportion to row k of U, which minimizes the
 * growth of ‖XW − XŴ‖² (the Optimal Brain Surgeon update, done for all columns at once).
 * A block's scale and zero point are chosen when its first row is reached, from the rows of
 * that block as updated by then. Memory: W and a few K×K float64 matrices.
 */
import { blockCount, emptyBlockQuantized, schemeRange, setBlockParams, type BlockQuantized, type Int4Scheme } from './block.ts';
import { upperCholeskyOfInverse } from './gptq-linalg.ts';
import { quantizeValue } from '../scales.ts';

export interface GptqOptions {
  blockSize: number;
  scheme: Int4Scheme;
  /** Dampening added to H's diagonal, as a fraction of its mean diagonal; default 0.01. */
  damp?: number;
}

export interface GptqResult {
  quantized: BlockQuantized;
  /** Input features never active in calibration (H[k][k] = 0): quantized by rounding only. */
  deadInputs: number;
  /** The dampening fraction finally used (raised ×10 while H + λI was not positive definite). */
  damp: number;
}

const MAX_DAMP_RAISES = 6;

/**
 * U, the upper Cholesky factor of (H + λI)⁻¹ (so that (H + λI)⁻¹ = UᵀU), with λ = damp ·
 * mean(diag H). Dead inputs (H[k][k] = 0) get a diagonal of 1 first, as in the reference
 * implementation. Returns U as row-major [K, K] with zeros below the diagonal.
 */
export function inverseHessianFactor(h: Float64Array, K: number, damp: number): { u: Float64Array; dead: number; damp: number } {
  const a = Float64Array.from(h);
  let dead = 0;
  let trace = 0;
  for (let k = 0; k < K; k++) {
    if (a[k * K + k] === 0) {
      a[k * K + k] = 1;
      dead++;
    }
    trace += a[k * K + k]!;
  }
  const mean = trace / K;
  let fraction = damp;
  for (let attempt = 0; attempt <= MAX_DAMP_RAISES; attempt++, fraction = fraction > 0 ? fraction * 10 : 0.01) {
    const damped = Float64Array.from(a);
    for (let k = 0; k < K; k++) damped[k * K + k] += fraction * mean;
    const u = upperCholeskyOfInverse(damped, K);
    if (!u) continue;
    return { u, dead, damp: fraction };
  }
  throw new RangeError(`the Hessian is not positive definite even with dampening ${damp * 10 ** MAX_DAMP_RAISES} × its mean diagonal`);
}

/** GPTQ-quantizes W [K, N] (row-major) given H [K, K]. */
export function quantizeGptq(w: ArrayLike<number>, K: number, N: number, h: Float64Array, opts: GptqOptions): GptqResult {
  if (w.length !== K * N) throw new RangeError(`${w.length} weights do not fill [${K}, ${N}]`);
  if (h.length !== K * K) throw new RangeError(`the Hessian has ${h.length} entries, not ${K}×${K}`);
  const { blockSize, scheme } = opts;
  const { u, dead, damp } = inverseHessianFactor(h, K, opts.damp ?? 0.01);
  const out = emptyBlockQuantized(K, N, blockSize, scheme);
  const range = schemeRange(scheme);
  const work = Float64Array.from(w);
  // Errors of the current block's rows: rows inside the block are updated at once, rows after
  // it once per block (the same sums, read from memory once per block instead of per row).
  const errs = new Float64Array(blockSize * N);
  for (let b = 0; b < blockCount(K, blockSize); b++) {
    setBlockParams(out, work, b);
    const k0 = b * blockSize;
    const k1 = Math.min(K, k0 + blockSize);
    for (let k = k0; k < k1; k++) {
      const d = u[k * K + k]!;
      const row = k * N;
      const err = errs.subarray((k - k0) * N, (k - k0 + 1) * N);
      for (let n = 0; n < N; n++) {
        const i = b * N + n;
        const scale = out.scales[i]!;
        const zp = out.zeroPoints?.[i] ?? 0;
        const q = quantizeValue(work[row + n]!, scale, zp, range);
        out.codes[row + n] = q;
        err[n] = (work[row + n]! - (q - zp) * scale) / d;
      }
      // Spread the error over the block's rows still to quantize: W[j] −= err · U[k][j].
      for (let j = k + 1; j < k1; j++) axpy(work, j * N, err, -u[k * K + j]!, N);
    }
    for (let j = k1; j < K; j++) {
      for (let k = k0; k < k1; k++) axpy(work, j * N, errs.subarray((k - k0) * N), -u[k * K + j]!, N);
    }
  }
  return { quantized: out, deadInputs: dead, damp };
}

/** y[at .. at+n) += f · x[0 .. n). */
function axpy(y: Float64Array, at: number, x: Float64Array, f: number, n: number): void {
  if (f === 0) return;
  for (let i = 0; i < n; i++) y[at + i] += f * x[i]!;
}

/** ‖XA − XB‖²_F / ‖XA‖²_F for X [rows, K] and A, B [K, N]: the layer's relative output error. */
export function relativeOutputError(x: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, K: number, N: number): number {
  const rows = x.length / K;
  let num = 0;
  let den = 0;
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let ya = 0;
      let yb = 0;
      for (let k = 0; k < K; k++) {
        const xv = x[r * K + k]!;
        ya += xv * a[k * N + n]!;
        yb += xv * b[k * N + n]!;
      }
      num += (ya - yb) ** 2;
      den += ya * ya;
    }
  }
  return den === 0 ? 0 : num / den;
}

/** ½·Σ_n d_nᵀ·H·d_n for D [K, N]: ‖X·D‖²_F / rows when H = 2·XᵀX / rows. */
function hessianNorm(h: Float64Array, d: ArrayLike<number>, K: number, N: number): number {
  let s = 0;
  const hd = new Float64Array(N);
  for (let i = 0; i < K; i++) {
    hd.fill(0);
    for (let j = 0; j < K; j++) {
      const hij = h[i * K + j]!;
      if (hij === 0) continue;
      for (let n = 0; n < N; n++) hd[n] += hij * d[j * N + n]!;
    }
    for (let n = 0; n < N; n++) s += d[i * N + n]! * hd[n]!;
  }
  return s / 2;
}

/**
 * ‖XA − XB‖²_F / ‖XA‖²_F on the calibration inputs, from their Hessian H = 2·XᵀX / rows alone
 * (the same value as relativeOutputError without keeping X).
 */
export function hessianRelativeError(h: Float64Array, a: ArrayLike<number>, b: ArrayLike<number>, K: number, N: number): number {
  const diff = Float64Array.from({ length: K * N }, (_, i) => a[i]! - b[i]!);
  const ref = hessianNorm(h, a, K, N);
  return ref === 0 ? 0 : hessianNorm(h, diff, K, N) / ref;
}
