/**
 * Initializers with identical dtype, shape and bytes are merged into one. Only tensors that
 * share dtype and shape with another are read and hashed, so a large model is not read
 * whole for nothing.
 */
import { createHash } from 'node:crypto';
import type { Graph } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';

export function dedupeInitializers(root: Graph): number {
  let merged = 0;
  for (const g of root.walk()) {
    const inputs = new Set(g.inputs.map((v) => v.name));
    const groups = new Map<string, Tensor[]>();
    for (const t of g.initializers.values()) {
      if (inputs.has(t.name) || t.payload.kind === 'strings') continue;
      const key = `${t.dtype}:${t.dims.join('x')}`;
      groups.set(key, [...(groups.get(key) ?? []), t]);
    }
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      const seen = new Map<string, Tensor>();
      for (const t of group) {
        const digest = createHash('sha256').update(t.bytes()).digest('hex');
        const first = seen.get(digest);
        if (!first) {
          seen.set(digest, t);
          continue;
        }
        g.replaceUses(t.name, first.name);
        if (g.isGraphOutput(t.name)) continue;
        g.initializers.delete(t.name);
        merged++;
      }
    }
  }
  return merged;
}
