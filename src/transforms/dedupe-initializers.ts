/**
 * Initializers with identical dtype, shape and bytes are merged into one. Only tensors that
 * share dtype and shape with another are compared, first by a fingerprint of sampled bytes
 * (known from the run's one read of the weights), and only those whose fingerprints agree
 * are hashed in full: sixteen same-shaped 64 MB weights are not read again to learn that
 * they differ.
 */
import type { Graph } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { tensorDigest, tensorFacts } from '../ir/tensor-facts.ts';

/** `items` grouped by `key`, groups of one dropped. */
function sharing<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

export function dedupeInitializers(root: Graph): number {
  let merged = 0;
  for (const g of root.walk()) {
    const inputs = new Set(g.inputs.map((v) => v.name));
    const candidates = [...g.initializers.values()].filter((t) => !inputs.has(t.name) && t.payload.kind !== 'strings');
    for (const shaped of sharing(candidates, (t) => `${t.dtype}:${t.dims.join('x')}`)) {
      for (const similar of sharing(shaped, (t) => tensorFacts(t).fingerprint)) {
        for (const [first, ...copies] of sharing(similar, tensorDigest)) merged += mergeInto(g, first!, copies);
      }
    }
  }
  return merged;
}

/** Points every use of `copies` at `first`; removes them unless they are graph outputs. */
function mergeInto(g: Graph, first: Tensor, copies: readonly Tensor[]): number {
  let removed = 0;
  for (const t of copies) {
    g.replaceUses(t.name, first.name);
    if (g.isGraphOutput(t.name)) continue;
    g.initializers.delete(t.name);
    removed++;
  }
  return removed;
}
