/**
 * The k smallest magnitudes of a set of weights, found without sorting or holding them: the
 * float32 bit patterns of non-negative floats order as the floats do, so two streamed
 * histogram passes — over the high 16 bits, then the low 16 bits within the one high bucket
 * that holds the k-th value — give the exact threshold, how many values lie below it and
 * how many equal it in each tensor (ties go to the lower position, tensors in order).
 * Magnitudes are compared as float32, whatever the dtype (as the sort-based version did).
 */
import type { DType } from '../onnx/dtype.ts';
import type { Tensor } from '../ir/tensor.ts';
import { forEachTensorPiece, withScratch } from '../ir/tensor-pieces.ts';
import { fromHalfBits } from '../math/float16.ts';

/** Where one tensor is cut. */
export interface Cut {
  /** Float32 bits of the threshold magnitude; 0x80000000 (above every magnitude) masks everything. */
  threshold: number;
  /** Elements equal to the threshold that are masked, the first ones in order. */
  ties: number;
  /** Elements masked: below the threshold, plus the ties. */
  masked: number;
  /** Elements zero before (magnitude bits 0). */
  zerosBefore: number;
}

const SIGN = 0x7fffffff;
const ALL = 0x80000000;

let converted: Uint32Array | undefined;
let halfTable: Uint32Array | undefined;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

const floatBits = (x: number): number => {
  f32[0] = x;
  return u32[0]!;
};

/**
 * One element per value of `bytes` (aligned) whose low 31 bits are the float32 bits of its
 * magnitude (readers mask with 0x7fffffff): a view of `bytes` for float32, else a reused
 * buffer, overwritten by the next call.
 */
export function magnitudeBits(bytes: Uint8Array, dtype: DType): Uint32Array {
  if (dtype === 'float32') return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const wide = dtype === 'float64';
  const n = bytes.byteLength / (wide ? 8 : 2);
  if (!converted || converted.length < n) converted = new Uint32Array(n);
  const out = converted.subarray(0, n);
  if (wide) {
    const v = new Float64Array(bytes.buffer, bytes.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = floatBits(Math.abs(v[i]!));
    return out;
  }
  const h = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  if (dtype === 'bfloat16') {
    for (let i = 0; i < n; i++) out[i] = (h[i]! & 0x7fff) << 16;
    return out;
  }
  if (dtype !== 'float16') throw new TypeError(`magnitude pruning handles float weights, not ${dtype}`);
  halfTable ??= Uint32Array.from({ length: 0x8000 }, (_, i) => floatBits(fromHalfBits(i)));
  for (let i = 0; i < n; i++) out[i] = halfTable[h[i]! & 0x7fff]!;
  return out;
}

/** Streams the magnitude bits of `t`, piece by piece (aligned copies where a piece in memory is not). */
function forEachMagnitudePiece(t: Tensor, fn: (bits: Uint32Array) => void): void {
  const width = t.byteLength / t.size;
  withScratch((aligned) =>
    forEachTensorPiece(t, (piece) => {
      let bytes = piece;
      if (piece.byteOffset % width !== 0) {
        bytes = aligned.subarray(0, piece.byteLength);
        bytes.set(piece);
      }
      fn(magnitudeBits(bytes, t.dtype));
    }),
  );
}

/** The first bucket at which the running count reaches `k`, and the count before it. */
function bucketOf(hist: Uint32Array, k: number, before: number): { bucket: number; below: number } {
  let below = before;
  let bucket = 0;
  while (below + hist[bucket]! < k) below += hist[bucket++]!;
  return { bucket, below };
}

/** Adds the high halves of the magnitudes to `high`; returns how many are zero. (Loops apart from closures: they optimise better.) */
function countHigh(bits: Uint32Array, high: Uint32Array): number {
  let zeros = 0;
  for (let i = 0; i < bits.length; i++) {
    const m = bits[i]! & SIGN;
    high[m >>> 16] = high[m >>> 16]! + 1;
    zeros += (m === 0) as unknown as number; // no branch: magnitudes are random
  }
  return zeros;
}

/** Adds the low halves of the magnitudes in the high bucket `bucket` to `local` (first sightings to `touched`); returns how many lie under the bucket. */
function countLow(bits: Uint32Array, bucket: number, local: Uint32Array, touched: number[]): number {
  let under = 0;
  for (let i = 0; i < bits.length; i++) {
    const m = bits[i]! & SIGN;
    const hi = m >>> 16;
    under += (hi < bucket) as unknown as number;
    if (hi === bucket) {
      const lo = m & 0xffff;
      if (local[lo] === 0) touched.push(lo);
      local[lo] = local[lo]! + 1;
    }
  }
  return under;
}

/** Where each of `tensors` is cut so that exactly `k` (≥ 1) of their elements, the smallest magnitudes, are masked. */
export function selectSmallest(tensors: readonly Tensor[], k: number): Cut[] {
  const total = tensors.reduce((n, t) => n + t.size, 0);
  const high = new Uint32Array(0x8000);
  const zerosBefore = tensors.map((t) => {
    let zeros = 0;
    forEachMagnitudePiece(t, (bits) => (zeros += countHigh(bits, high)));
    return zeros;
  });
  if (k >= total) return tensors.map((t, i) => ({ threshold: ALL, ties: 0, masked: t.size, zerosBefore: zerosBefore[i]! }));
  const { bucket, below: belowBucket } = bucketOf(high, k, 0);
  // Second pass: per tensor, values under the bucket, and the bucket's low halves (kept sparse).
  const low = new Uint32Array(0x10000);
  const local = new Uint32Array(0x10000);
  const parts = tensors.map((t) => {
    let under = 0;
    const touched: number[] = [];
    forEachMagnitudePiece(t, (bits) => (under += countLow(bits, bucket, local, touched)));
    const counts = new Map<number, number>();
    for (const lo of touched) {
      counts.set(lo, local[lo]!);
      low[lo] = low[lo]! + local[lo]!;
      local[lo] = 0;
    }
    return { under, counts };
  });
  const { bucket: lowBucket, below } = bucketOf(low, k, belowBucket);
  const threshold = ((bucket << 16) | lowBucket) >>> 0;
  let ties = k - below;
  return parts.map(({ under, counts }, i) => {
    let lessInBucket = 0;
    for (const [lo, n] of counts) if (lo < lowBucket) lessInBucket += n;
    const mine = Math.min(ties, counts.get(lowBucket) ?? 0);
    ties -= mine;
    return { threshold, ties: mine, masked: under + lessInBucket + mine, zerosBefore: zerosBefore[i]! };
  });
}

/**
 * Zeroes, in `bytes` (aligned values of `dtype`), the magnitudes below `threshold` and the
 * first `ties` equal to it; already-zero values stay as they are (a -0 stays -0). Returns the
 * ties left for the next piece.
 */
export function applyCut(bytes: Uint8Array, dtype: DType, threshold: number, ties: number): number {
  const bits = magnitudeBits(bytes, dtype);
  const n = bits.length;
  const width = bytes.byteLength / n;
  const values = width === 2 ? new Uint16Array(bytes.buffer, bytes.byteOffset, n) : width === 4 ? new Uint32Array(bytes.buffer, bytes.byteOffset, n) : new Float64Array(bytes.buffer, bytes.byteOffset, n);
  if (threshold > 0 && dtype === 'float32') {
    // No branch (magnitudes are random): keep v when m is 0 or m ≥ threshold, i.e. when m − 1 (unsigned) ≥ threshold − 1.
    const v = values as Uint32Array;
    const below = threshold - 1;
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
      v[i] = x & -((((x & SIGN) - 1) >>> 0 >= below) as unknown as number);
    }
  } else if (threshold > 0) {
    for (let i = 0; i < n; i++) {
      const m = bits[i]! & SIGN;
      if (m !== 0 && m < threshold) values[i] = 0;
    }
  }
  for (let i = 0; i < n && ties > 0 && threshold !== ALL; i++) {
    if ((bits[i]! & SIGN) !== threshold) continue;
    if (threshold !== 0) values[i] = 0;
    ties--;
  }
  return ties;
}
