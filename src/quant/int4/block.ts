/**
 * Block-wise int4 weight quantization of a matrix W [K, N] (K inputs, N outputs), blocks of
 * `blockSize` consecutive rows along K, one scale (and zero point) per block and column.
 * Pure functions on typed arrays: round-to-nearest here, GPTQ in gptq.ts, the ONNX layouts
 * in int4-layout.ts. Scale and rounding rules come from scales.ts, shared with int8.
 *
 * - symmetric: int4 codes in the restricted range −7..7, zero point 0, scale = max|w| / 7.
 * - asymmetric: uint4 codes 0..15, range widened to contain 0, w ≈ (q − zp) · scale.
 */
import { affineParams, qrange, quantizeValue, symmetricScale, type AffineParams, type QRange } from '../scales.ts';

export type Int4Scheme = 'symmetric' | 'asymmetric';

export interface BlockQuantized {
  /** Rows (input features) and columns (output features) of W. */
  K: number;
  N: number;
  blockSize: number;
  scheme: Int4Scheme;
  /** Codes of W, row-major [K, N]: int4 (−7..7) when symmetric, uint4 (0..15) when asymmetric. */
  codes: Int8Array | Uint8Array;
  /** Float32 scales, row-major [blocks, N]. */
  scales: Float32Array;
  /** Zero points (asymmetric only), row-major [blocks, N]. */
  zeroPoints?: Uint8Array;
}

export function blockCount(K: number, blockSize: number): number {
  return Math.ceil(K / blockSize);
}

export function schemeRange(scheme: Int4Scheme): QRange {
  return scheme === 'symmetric' ? qrange('int4', true) : qrange('uint4');
}

/** Scale and zero point for a block whose values span [min, max]. */
export function blockParams(min: number, max: number, scheme: Int4Scheme): AffineParams {
  if (scheme === 'symmetric') return { scale: symmetricScale(Math.max(-min, max), qrange('int4', true).qmax), zeroPoint: 0 };
  return affineParams(min, max, qrange('uint4'));
}

/** Allocates an empty result for W [K, N]. */
export function emptyBlockQuantized(K: number, N: number, blockSize: number, scheme: Int4Scheme): BlockQuantized {
  const nb = blockCount(K, blockSize);
  return {
    K,
    N,
    blockSize,
    scheme,
    codes: scheme === 'symmetric' ? new Int8Array(K * N) : new Uint8Array(K * N),
    scales: new Float32Array(nb * N),
    ...(scheme === 'asymmetric' ? { zeroPoints: new Uint8Array(nb * N) } : {}),
  };
}

/**
 * Sets the parameters of block `b` of every column from rows [b·B, min((b+1)·B, K)) of `w`
 * (row-major [K, N]).
 */
export function setBlockParams(out: BlockQuantized, w: ArrayLike<number>, b: number): void {
  const { K, N, blockSize, scheme } = out;
  const k0 = b * blockSize;
  const k1 = Math.min(K, k0 + blockSize);
  for (let n = 0; n < N; n++) {
    let min = Infinity;
    let max = -Infinity;
    for (let k = k0; k < k1; k++) {
      const v = w[k * N + n]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const p = blockParams(min, max, scheme);
    out.scales[b * N + n] = p.scale;
    if (out.zeroPoints) out.zeroPoints[b * N + n] = p.zeroPoint;
  }
}

/** Round-to-nearest: every weight to the nearest code of its block's grid. */
export function quantizeRtn(w: ArrayLike<number>, K: number, N: number, blockSize: number, scheme: Int4Scheme): BlockQuantized {
  if (w.length !== K * N) throw new RangeError(`${w.length} weights do not fill [${K}, ${N}]`);
  const out = emptyBlockQuantized(K, N, blockSize, scheme);
  const range = schemeRange(scheme);
  for (let b = 0; b < blockCount(K, blockSize); b++) {
    setBlockParams(out, w, b);
    const k1 = Math.min(K, (b + 1) * blockSize);
    for (let k = b * blockSize; k < k1; k++) {
      for (let n = 0; n < N; n++) {
        const i = b * N + n;
        out.codes[k * N + n] = quantizeValue(w[k * N + n]!, out.scales[i]!, out.zeroPoints?.[i] ?? 0, range);
      }
    }
  }
  return out;
}

/** The dequantized matrix Ŵ [K, N] (float64): (code − zero point) · scale. */
export function dequantizeBlockwise(q: BlockQuantized): Float64Array {
  const { K, N, blockSize } = q;
  const out = new Float64Array(K * N);
  for (let k = 0; k < K; k++) {
    const b = Math.floor(k / blockSize);
    for (let n = 0; n < N; n++) {
      const i = b * N + n;
      out[k * N + n] = (q.codes[k * N + n]! - (q.zeroPoints?.[i] ?? 0)) * q.scales[i]!;
    }
  }
  return out;
}
