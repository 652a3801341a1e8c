/** Removes nodes whose outputs nobody reads, then initializers and value_info left unused. */
import type { Graph } from '../ir/graph.ts';

export function eliminateDeadCode(root: Graph): number {
  let removed = 0;
  for (const g of root.walk()) {
    const { producer } = g.index();
    const live = new Set<string>();
    const stack = g.outputs.map((o) => o.name);
    const liveNodes = new Set();
    while (stack.length) {
      const name = stack.pop()!;
      if (live.has(name)) continue;
      live.add(name);
      const n = producer.get(name);
      if (!n || liveNodes.has(n)) continue;
      liveNodes.add(n);
      stack.push(...n.inputs.filter(Boolean));
      for (const sub of n.subgraphs()) stack.push(...sub.outerReferences());
    }
    const before = g.nodes.length + g.initializers.size;
    g.nodes = g.nodes.filter((n) => liveNodes.has(n));
    const inputs = new Set(g.inputs.map((v) => v.name));
    for (const name of [...g.initializers.keys()]) if (!live.has(name) && !inputs.has(name)) g.initializers.delete(name);
    g.valueInfo = g.valueInfo.filter((v) => live.has(v.name));
    removed += before - g.nodes.length - g.initializers.size;
  }
  return removed;
}
