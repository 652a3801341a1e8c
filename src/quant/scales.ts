/**
 * Scale and zero-point arithmetic, as pure functions on typed arrays. Shared by every
 * quantization scheme (int8 static/dynamic here, int4 block-wise elsewhere), so they all
 * round, clamp and pick scales the same way.
 *
 * Conventions (the ones onnxruntime's quantizer and the ONNX ops use):
 * - `x ≈ (q - zeroPoint) * scale`; quantizing is `q = clamp(roundHalfEven(x / scale) + zp)`.
 * - Symmetric weights use the restricted range ±(2^(bits-1) - 1) (−127..127 for int8), so
 *   the zero point is 0 and negating a weight negates its code.
 * - Scales are stored as float32: every computation below uses the float32 value of the
 *   scale, so a reference implementation that rounds the scale to float32 gets identical codes.
 * - Symmetric weight codes are roundHalfEven(float32(x / s)): the quotient rounded to float32
 *   first, as QuantizeLinear computes it, and as the SIMD kernels (simd.ts) do lane by lane.
 */
import { Int8Kernels } from './kernels/simd.ts';

export type IntType = 'int8' | 'uint8' | 'int4' | 'uint4';

export interface QRange {
  qmin: number;
  qmax: number;
}

/** The integer range of a type; `symmetric` gives the restricted range (−127..127 for int8). */
export function qrange(type: IntType, symmetric = false): QRange {
  switch (type) {
    case 'int8':
      return symmetric ? { qmin: -127, qmax: 127 } : { qmin: -128, qmax: 127 };
    case 'uint8':
      return { qmin: 0, qmax: 255 };
    case 'int4':
      return symmetric ? { qmin: -7, qmax: 7 } : { qmin: -8, qmax: 7 };
    case 'uint4':
      return { qmin: 0, qmax: 15 };
  }
}

const ROUNDER = 6755399441055744; // 1.5 * 2^52: adding and subtracting it rounds half to even

/** Round half to even (what QuantizeLinear does), exact for |x| < 2^51. */
export function roundHalfEven(x: number): number {
  return x + ROUNDER - ROUNDER;
}

/** Float32 scale for a symmetric range ±maxAbs; 1 when the range is empty (all zeros). */
export function symmetricScale(maxAbs: number, qmax: number): number {
  const s = Math.fround(maxAbs / qmax);
  return s > 0 && Number.isFinite(s) ? s : 1;
}

export interface AffineParams {
  scale: number;
  zeroPoint: number;
}

/**
 * Asymmetric (affine) parameters for the real range [rmin, rmax], widened to contain 0
 * so that 0 is exactly representable (padding, ReLU). A degenerate range gets scale 1.
 */
export function affineParams(rmin: number, rmax: number, range: QRange): AffineParams {
  const lo = Math.min(rmin, 0);
  const hi = Math.max(rmax, 0);
  const scale = Math.fround((hi - lo) / (range.qmax - range.qmin));
  if (!(scale > 0) || !Number.isFinite(scale)) return { scale: 1, zeroPoint: range.qmin < 0 ? 0 : range.qmin };
  const zp = roundHalfEven(range.qmin - lo / scale);
  return { scale, zeroPoint: Math.min(range.qmax, Math.max(range.qmin, zp)) };
}

export function quantizeValue(x: number, scale: number, zeroPoint: number, range: QRange): number {
  const q = roundHalfEven(x / scale) + zeroPoint;
  return q < range.qmin ? range.qmin : q > range.qmax ? range.qmax : q;
}

/**
 * How a tensor of shape `dims` splits along `axis`: element i belongs to channel
 * `Math.floor(i / inner) % channels`. Used to walk a row-major tensor channel by channel
 * without index arithmetic per element.
 */
export interface AxisLayout {
  outer: number;
  channels: number;
  inner: number;
}

export function axisLayout(dims: readonly number[], axis: number): AxisLayout {
  const a = axis < 0 ? axis + dims.length : axis;
  if (a < 0 || a >= dims.length) throw new RangeError(`axis ${axis} is out of range for shape [${dims.join(',')}]`);
  const outer = dims.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = dims.slice(a + 1).reduce((p, d) => p * d, 1);
  return { outer, channels: dims[a]!, inner };
}

/** Largest |x| of each channel along `axis`. */
export function channelMaxAbs(data: ArrayLike<number>, dims: readonly number[], axis: number): Float64Array {
  const { outer, channels, inner } = axisLayout(dims, axis);
  const out = new Float64Array(channels);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let m = out[c]!;
      for (let k = 0; k < inner; k++, i++) {
        const v = data[i]!;
        const a = v < 0 ? -v : v;
        if (a > m) m = a;
      }
      out[c] = m;
    }
  }
  return out;
}

export function tensorMaxAbs(data: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!);
    if (a > m) m = a;
  }
  return m;
}

export interface PerChannelWeights {
  /** One float32 scale per channel. */
  scales: Float32Array;
  /** Codes in the layout of the input (row-major, same shape). */
  values: Int8Array;
}

let kernels: Int8Kernels | undefined | null;
/** The shared SIMD kernels (null where WebAssembly SIMD is unavailable). */
export function sharedKernels(): Int8Kernels | null {
  if (kernels === undefined) kernels = Int8Kernels.create() ?? null;
  return kernels;
}

/** Tensors at least this large go through the SIMD kernels. */
const SIMD_MIN = 4096;

/**
 * Symmetric per-channel quantization along `axis` to the restricted signed range of
 * `bits` bits (int8: −127..127). Codes are stored one per byte (Int8Array) whatever `bits`.
 * Large int8 tensors whose axis is the first or the last use the SIMD kernels (same codes).
 */
export function quantizePerChannelSymmetric(data: ArrayLike<number>, dims: readonly number[], axis: number, bits = 8): PerChannelWeights {
  const qmax = 2 ** (bits - 1) - 1;
  const { outer, channels, inner } = axisLayout(dims, axis);
  const k = bits === 8 && data.length >= SIMD_MIN && (outer === 1 || inner === 1) ? sharedKernels() : null;
  if (k) {
    const perColumn = inner === 1;
    const [rows, cols] = perColumn ? [outer, channels] : [channels, inner];
    k.input(data.length).set(data);
    const scales = Float32Array.from(k.maxAbs(rows, cols, perColumn), (m) => symmetricScale(m, qmax));
    return { scales, values: k.quantize(rows, cols, scales, perColumn) };
  }
  const maxAbs = channelMaxAbs(data, dims, axis);
  const scales = Float32Array.from(maxAbs, (m) => symmetricScale(m, qmax));
  const values = new Int8Array(data.length);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = scales[c]!;
      for (let j = 0; j < inner; j++, i++) {
        let q = roundHalfEven(Math.fround(data[i]! / s));
        if (q > qmax) q = qmax;
        else if (q < -qmax) q = -qmax;
        values[i] = q;
      }
    }
  }
  return { scales, values };
}

/** Symmetric per-tensor quantization (one scale for the whole tensor). */
export function quantizePerTensorSymmetric(data: ArrayLike<number>, bits = 8): { scale: number; values: Int8Array } {
  const qmax = 2 ** (bits - 1) - 1;
  const scale = symmetricScale(tensorMaxAbs(data), qmax);
  const values = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = Math.max(-qmax, Math.min(qmax, roundHalfEven(Math.fround(data[i]! / scale))));
  return { scale, values };
}

/** Affine quantization of a whole tensor with given parameters (activations, constant operands). */
export function quantizeAffine(data: ArrayLike<number>, p: AffineParams, type: 'int8' | 'uint8'): Int8Array | Uint8Array {
  const range = qrange(type);
  const out = type === 'int8' ? new Int8Array(data.length) : new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = quantizeValue(data[i]!, p.scale, p.zeroPoint, range);
  return out;
}

/**
 * Bias for integer kernels: int32 codes with scale = inputScale × weightScale[c] and zero
 * point 0 (per channel when weightScales has one entry per output channel). Codes beyond the
 * int32 range are clamped; `clamped` counts them.
 */
export function quantizeBias(bias: ArrayLike<number>, inputScale: number, weightScales: ArrayLike<number>): { scales: Float32Array; values: Int32Array; clamped: number } {
  const perChannel = weightScales.length !== 1;
  if (perChannel && weightScales.length !== bias.length) {
    throw new RangeError(`bias has ${bias.length} values but there are ${weightScales.length} weight scales`);
  }
  const scales = Float32Array.from(weightScales, (s) => Math.fround(inputScale * s));
  const values = new Int32Array(bias.length);
  let clamped = 0;
  for (let i = 0; i < bias.length; i++) {
    const s = scales[perChannel ? i : 0]!;
    const q = roundHalfEven(bias[i]! / s);
    if (q > 2147483647 || q < -2147483647) clamped++;
    values[i] = Math.max(-2147483647, Math.min(2147483647, q));
  }
  return { scales, values, clamped };
}

/** Signal-to-quantization-noise ratio in dB: 10·log10(Σx² / Σ(x − x̂)²); Infinity when equal. */
export function sqnrDb(reference: ArrayLike<number>, approx: ArrayLike<number>): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const d = r - approx[i]!;
    signal += r * r;
    noise += d * d;
  }
  if (noise === 0) return Infinity;
  if (signal === 0) return -Infinity;
  return 10 * Math.log10(signal / noise);
}
