/** Test-side reference for per-channel symmetric int8, independent of src/quant. */

/**
 * The reference: a straightforward float64 computation written independently of
 * src/quant — explicit index arithmetic, Math.abs, and rounding half to even by hand.
 */
export function reference(w: Float32Array, dims: number[], axis: number) {
  const channels = dims[axis]!;
  const strides = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const channelOf = (flat: number) => Math.floor(flat / strides[axis]!) % channels;
  const maxAbs = new Array<number>(channels).fill(0);
  for (let i = 0; i < w.length; i++) maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)]!, Math.abs(w[i]!));
  const scales = maxAbs.map((m) => (m === 0 ? 1 : Math.fround(m / 127)));
  const round = (x: number) => {
    const f = Math.floor(x);
    const d = x - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  };
  // The quotient is rounded to float32 first, as QuantizeLinear does.
  const q = Array.from(w, (v, i) => Math.max(-127, Math.min(127, round(Math.fround(v / scales[channelOf(i)]!)))) + 0); // + 0: no −0
  return { scales, q };
}
