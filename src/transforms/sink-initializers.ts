/**
 * An initializer that only one subgraph reads (a Loop body's weight kept in the main graph,
 * as PyTorch exports do) moves into that subgraph, and further down while it can, so the
 * per-graph steps (quantization, pruning) find each weight in the graph of the node that
 * reads it. Initializers read by the graph itself or by several subgraphs stay where they are.
 */
import type { Graph } from '../ir/graph.ts';

export function sinkInitializers(root: Graph): number {
  let moved = 0;
  // walk() is lazy: a subgraph is visited after its parent, so a weight moved into it can move on.
  for (const g of root.walk()) {
    const pinned = new Set<string>([...g.inputs, ...g.outputs].map((v) => v.name));
    for (const n of g.nodes) for (const i of n.inputs) pinned.add(i);
    const readers = new Map<string, Graph[]>();
    for (const n of g.nodes) {
      for (const sub of n.subgraphs()) for (const r of sub.outerReferences()) (readers.get(r) ?? readers.set(r, []).get(r)!).push(sub);
    }
    for (const [name, t] of [...g.initializers]) {
      const subs = readers.get(name);
      if (pinned.has(name) || subs?.length !== 1) continue;
      g.initializers.delete(name);
      subs[0]!.addInitializer(t);
      moved++;
    }
  }
  return moved;
}
