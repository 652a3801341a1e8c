/**
 * Initializers with identical dtype, shape and bytes are merged into one: within a graph, and
 * across the bodies of one If/Loop/Scan node (the copy moves up into the graph holding the
 * node, where every body sees it — folding PyTorch's LSTM weights inside both branches of an
 * If makes such twins). Only tensors that share dtype and shape with another are read and
 * hashed, so a large model is not read whole for nothing.
 */
import { createHash } from 'node:crypto';
import type { Graph } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';

/** Sets of identical tensors among `owned` (each with the graph holding it), one set per content. */
function twins(owned: ReadonlyArray<{ t: Tensor; g: Graph }>): Array<Array<{ t: Tensor; g: Graph }>> {
  const groups = new Map<string, Array<{ t: Tensor; g: Graph }>>();
  for (const o of owned) {
    if (o.t.payload.kind === 'strings' || o.g.inputs.some((v) => v.name === o.t.name) || o.g.isGraphOutput(o.t.name)) continue;
    const key = `${o.t.dtype}:${o.t.dims.join('x')}`;
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  const out: Array<Array<{ t: Tensor; g: Graph }>> = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const byDigest = new Map<string, Array<{ t: Tensor; g: Graph }>>();
    for (const o of group) {
      const digest = createHash('sha256').update(o.t.bytes()).digest('hex');
      byDigest.set(digest, [...(byDigest.get(digest) ?? []), o]);
    }
    for (const same of byDigest.values()) if (same.length > 1) out.push(same);
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
