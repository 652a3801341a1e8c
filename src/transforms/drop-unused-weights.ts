/** After a pass replaced weights with quantized copies: the float originals nobody reads any more go. */
import type { Model } from '../ir/model.ts';

/** Removes weights (initializers and Constant nodes) that nothing reads any more. */
export function dropUnusedWeights(model: Model, weights: Iterable<string>): number {
  const used = new Set<string>();
  for (const g of model.graph.walk()) {
    for (const n of g.nodes) for (const i of n.inputs) used.add(i);
    for (const o of g.outputs) used.add(o.name);
  }
  let dropped = 0;
  for (const w of new Set(weights)) {
    if (used.has(w)) continue;
    for (const g of model.graph.walk()) {
      if (g.initializers.delete(w)) dropped++;
      const before = g.nodes.length;
      g.nodes = g.nodes.filter((n) => !(n.opType === 'Constant' && n.outputs[0] === w));
      dropped += before - g.nodes.length;
    }
  }
  return dropped;
}
