/**
 * Initializers with identical dtype, shape and bytes are merged into one: within a graph, and
 * across the bodies of one If/Loop/Scan node (the copy moves up into the graph holding the
 * node, where every body sees it — folding PyTorch's LSTM weights inside both branches of an
 * If makes such twins). Only tensors that share dtype and shape with another are compared,
 * first by a fingerprint of sampled bytes (known from the run's one read of the weights), and
 * only those whose fingerprints agree are hashed in full: sixteen same-shaped 64 MB weights
 * are not read again to learn that they differ.
 */
import type { Graph } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { tensorDigest, tensorFacts } from '../ir/tensor-facts.ts';

interface Owned {
  t: Tensor;
  /** The graph whose initializer it is. */
  g: Graph;
}

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

/** Sets of identical tensors among `owned`, one set per content. */
function twins(owned: readonly Owned[]): Owned[][] {
  const candidates = owned.filter((o) => o.t.payload.kind !== 'strings' && !o.g.inputs.some((v) => v.name === o.t.name) && !o.g.isGraphOutput(o.t.name));
  const out: Owned[][] = [];
  for (const shaped of sharing(candidates, (o) => `${o.t.dtype}:${o.t.dims.join('x')}`)) {
    for (const similar of sharing(shaped, (o) => tensorFacts(o.t).fingerprint)) out.push(...sharing(similar, (o) => tensorDigest(o.t)));
  }
  return out;
}

export function dedupeInitializers(root: Graph): number {
  let merged = 0;
  for (const g of root.walk()) {
    for (const [first, ...rest] of twins([...g.initializers.values()].map((t) => ({ t, g })))) {
      for (const { t } of rest) {
        g.replaceUses(t.name, first!.t.name);
        g.initializers.delete(t.name);
        merged++;
      }
    }
    for (const node of g.nodes) {
      const bodies = node.subgraphs();
      if (bodies.length < 2) continue;
      for (const [first, ...rest] of twins(bodies.flatMap((b) => [...b.initializers.values()].map((t) => ({ t, g: b }))))) {
        if (rest.every((o) => o.g === first!.g)) continue; // twins within one body: merged when the walk reaches it
        first!.g.initializers.delete(first!.t.name);
        g.addInitializer(first!.t);
        for (const { t, g: body } of rest) {
          body.replaceUses(t.name, first!.t.name);
          body.initializers.delete(t.name);
          merged++;
        }
      }
    }
  }
  return merged;
}
