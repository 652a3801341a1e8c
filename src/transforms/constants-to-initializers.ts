/**
 * Constant nodes (how paddle2onnx and some PyTorch exports store weights, also inside
 * If/Loop bodies) become initializers of the graph they live in, so every later step sees
 * weights in one place.
 */
import type { Graph } from '../ir/graph.ts';
import { constantNodeTensor } from '../ops/constant.ts';

export function constantsToInitializers(root: Graph): number {
  let changed = 0;
  for (const g of root.walk()) {
    g.nodes = g.nodes.filter((n) => {
      const t = constantNodeTensor(n);
      if (!t || g.initializers.has(n.outputs[0])) return true;
      t.name = n.outputs[0];
      g.addInitializer(t);
      changed++;
      return false;
    });
  }
  return changed;
}
