/**
 * N:M semi-structured pruning along the input-channel axis: in every run of M consecutive
 * input channels (for one output channel and one kernel position) at most N weights stay
 * non-zero — the largest |w|, ties to the lower channel. This is the layout sparse tensor
 * cores (2:4) and XNNPACK's sparse kernels exploit. When the input-channel count is not a
 * multiple of M, the last run is shorter and keeps at most N as well.
 */
import type { PrunableLayer } from './layers.ts';
import { magnitudes, zeroMasked } from './tensor-ops.ts';
import type { NMPattern } from './types.ts';

/** Weight dims as [outer, input channels, inner]: input channel i of position (o, s) is at (o·C + i)·inner + s. */
export function inputAxisView(dims: readonly number[], inAxis: number): { outer: number; channels: number; inner: number } {
  const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);
  return { outer: prod(dims.slice(0, inAxis)), channels: dims[inAxis]!, inner: prod(dims.slice(inAxis + 1)) };
}

/** Mask (1 = prune) enforcing N:M along `inAxis` of a tensor of `dims`. */
export function nmMask(mags: Float32Array, dims: readonly number[], inAxis: number, { n, m }: NMPattern): Uint8Array {
  const { outer, channels, inner } = inputAxisView(dims, inAxis);
  const mask = new Uint8Array(mags.length).fill(1);
  const idx: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let s = 0; s < inner; s++) {
      for (let start = 0; start < channels; start += m) {
        idx.length = 0;
        for (let c = start; c < Math.min(start + m, channels); c++) idx.push((o * channels + c) * inner + s);
        idx.sort((a, b) => mags[b]! - mags[a]! || a - b);
        for (let k = 0; k < Math.min(n, idx.length); k++) mask[idx[k]!] = 0;
      }
    }
  }
  return mask;
}

/** Applies the pattern to each layer's weight; returns zeros written per weight name. */
export function pruneNM(layers: readonly PrunableLayer[], pattern: NMPattern): Map<string, number> {
  const changed = new Map<string, number>();
  for (const l of layers) {
    if (changed.has(l.weight.name)) continue;
    const mask = nmMask(magnitudes(l.weight), l.weight.dims, l.layout.inAxis, pattern);
    changed.set(l.weight.name, zeroMasked(l.weight, mask));
  }
  return changed;
}
