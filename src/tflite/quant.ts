/**
 * TFLite int8 quantization parameters (https://www.tensorflow.org/lite/performance/quantization_spec):
 * weights symmetric int8 in [−127, 127] with zero point 0, per axis for convolutions;
 * activations and other constants asymmetric int8 per tensor; biases int32 with
 * scale = input scale × weight scale and zero point 0.
 */

export interface QParams {
  scale: number[];
  zeroPoint: number[];
  /** The axis of the stored tensor the scales run along (per-axis only). */
  axis?: number;
}

/** Symmetric per-axis int8 (zero point 0, values in [−127, 127]) along `axis` of `dims`. */
export function quantizeSymmetric(data: Float32Array, dims: readonly number[], axis: number, perAxis = true): { q: Int8Array; params: QParams } {
  const channels = perAxis ? dims[axis]! : 1;
  const inner = perAxis ? dims.slice(axis + 1).reduce((a, b) => a * b, 1) : data.length;
  const maxAbs = new Float64Array(channels);
  const channelOf = (i: number) => (perAxis ? Math.floor(i / inner) % channels : 0);
  for (let i = 0; i < data.length; i++) maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)]!, Math.abs(data[i]!));
  const scale = Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(data[i]! / scale[channelOf(i)]!)));
  return { q, params: { scale: scale.map(Math.fround), zeroPoint: new Array(channels).fill(0), ...(perAxis ? { axis } : {}) } };
}

/** Asymmetric per-tensor int8 covering [min(0, data), max(0, data)]. */
export function quantizeAsymmetric(data: Float32Array): { q: Int8Array; params: QParams } {
  let lo = 0;
  let hi = 0;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zp = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale)));
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) q[i] = Math.max(-128, Math.min(127, Math.round(data[i]! / scale) + zp));
  return { q, params: { scale: [Math.fround(scale)], zeroPoint: [zp] } };
}

/** int32 bias with scale input × weight[i] and zero point 0. */
export function quantizeBias(data: Float32Array, inputScale: number, weightScales: readonly number[]): { q: Int32Array; params: QParams } {
  // Per-axis weights give a per-axis bias; a per-tensor weight a per-tensor bias (one scale).
  const perAxis = weightScales.length > 1;
  const scale = perAxis ? weightScales.map((s) => Math.fround(s * inputScale)) : [Math.fround(weightScales[0]! * inputScale)];
  const q = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) q[i] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(data[i]! / scale[perAxis ? i : 0]!)));
  return { q, params: { scale, zeroPoint: new Array(scale.length).fill(0), ...(perAxis ? { axis: 0 } : {}) } };
}

/** Float values of quantized data: scale[c] × (q − zp[c]) along `axis`. */
export function dequantize(q: ArrayLike<number>, dims: readonly number[], params: QParams): Float32Array {
  const out = new Float32Array(q.length);
  const perAxis = params.scale.length > 1;
  const axis = params.axis ?? 0;
  const inner = perAxis ? dims.slice(axis + 1).reduce((a, b) => a * b, 1) : q.length;
  const channels = perAxis ? dims[axis]! : 1;
  for (let i = 0; i < q.length; i++) {
    const c = perAxis ? Math.floor(i / inner) % channels : 0;
    out[i] = params.scale[c]! * (q[i]! - params.zeroPoint[c]!);
  }
  return out;
}

/** Fixed output parameters TFLite requires for int8 SOFTMAX and LOGISTIC (1/256, −128) and TANH (1/128, 0). */
export const FIXED_OUTPUT: Readonly<Record<string, QParams>> = {
  Softmax: { scale: [1 / 256], zeroPoint: [-128] },
  Sigmoid: { scale: [1 / 256], zeroPoint: [-128] },
  Tanh: { scale: [1 / 128], zeroPoint: [0] },
};
