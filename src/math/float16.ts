/**
 * IEEE 754 half-precision conversion. onnxruntime exchanges float16 tensors as raw
 * Uint16Array bits (Node 20 has no Float16Array), and fp16 models may keep fp16 inputs/outputs.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Nearest half (ties to even), with overflow to ±Infinity and gradual underflow. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, or a quiet NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000; // make the implicit bit explicit, then shift into subnormal range
    const shift = 14 - e;
    return sign | roundShift(m, shift);
  }
  // A mantissa carry out of 10 bits bumps the exponent, which is exactly what adding does.
  return sign | ((e << 10) + roundShift(mant, 13));
}

/** m >> shift, rounded to nearest with ties to even. */
function roundShift(m: number, shift: number): number {
  const q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function toHalf(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalfBits(values[i]!);
  return out;
}
