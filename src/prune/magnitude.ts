/**
 * Unstructured magnitude pruning: the weights of smallest |w| become zero, exactly
 * round(sparsity × count) of them — per layer, or ranked across all targeted layers at once
 * (`global`). Ties at the threshold are broken by position, so the count is exact.
 */
import { concatFloat32 } from '../math/arrays.ts';
import type { PrunableLayer } from './layers.ts';
import { magnitudes, zeroMasked } from './tensor-ops.ts';

/** Mask (1 = prune) of exactly `k` smallest values of `mags`; ties go to the lower index. */
export function smallestMask(mags: Float32Array, k: number): Uint8Array {
  const mask = new Uint8Array(mags.length);
  if (k <= 0) return mask;
  if (k >= mags.length) return mask.fill(1);
  const sorted = Float32Array.from(mags).sort();
  const threshold = sorted[k - 1]!;
  let below = 0;
  for (let i = 0; i < mags.length; i++) {
    if (mags[i]! < threshold) {
      mask[i] = 1;
      below++;
    }
  }
  let ties = k - below;
  for (let i = 0; i < mags.length && ties > 0; i++) {
    if (mags[i] === threshold) {
      mask[i] = 1;
      ties--;
    }
  }
  return mask;
}

export interface MagnitudeTarget {
  layer: PrunableLayer;
  /** This layer's own sparsity; undefined puts it in the global ranking. */
  sparsity?: number;
}

/**
 * Prunes each target to its own sparsity, and the targets without one together to
 * `globalSparsity` (one ranking). Returns the zeros written per weight name.
 */
export function pruneMagnitude(targets: readonly MagnitudeTarget[], globalSparsity: number): Map<string, number> {
  const changed = new Map<string, number>();
  const seen = new Set<string>();
  const pool: PrunableLayer[] = [];
  for (const { layer, sparsity } of targets) {
    if (seen.has(layer.weight.name)) continue; // a weight shared by two nodes is pruned once
    seen.add(layer.weight.name);
    if (sparsity === undefined) {
      pool.push(layer);
      continue;
    }
    const mags = magnitudes(layer.weight);
    changed.set(layer.weight.name, zeroMasked(layer.weight, smallestMask(mags, Math.round(sparsity * mags.length))));
  }
  if (pool.length === 0) return changed;
  const parts = pool.map((l) => magnitudes(l.weight));
  const all = concatFloat32(parts);
  const mask = smallestMask(all, Math.round(globalSparsity * all.length));
  let at = 0;
  pool.forEach((l, i) => {
    const n = parts[i]!.length;
    changed.set(l.weight.name, zeroMasked(l.weight, mask.subarray(at, at + n)));
    at += n;
  });
  return changed;
}
