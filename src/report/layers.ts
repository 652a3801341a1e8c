/**
 * Weight bytes per layer, comparable before and after quantization. `inspect` gives a weight
 * to the first node reading it, which after QDQ quantization is a DequantizeLinear; here a
 * weight reached through DequantizeLinear (or a Cast/Reshape/Transpose of a constant) counts
 * for the node that computes with it, so `conv1` is `conv1` on both sides of the chart.
 */
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import type { LayerBytes } from './schema.ts';

/** A chart of a thousand layers says nothing: keep the largest. */
export const MAX_LAYERS = 200;

/** Nodes that only carry a weight to its real user. */
const CARRIERS = new Set(['DequantizeLinear', 'QuantizeLinear', 'Cast', 'Reshape', 'Transpose', 'Identity', 'Unsqueeze', 'Squeeze']);

export function layerBytes(model: Model, limit = MAX_LAYERS): LayerBytes[] {
  const graph = model.graph;
  const { producer } = graph.index();
  const counted = new Set<string>();
  const rows = new Map<Node, LayerBytes>();
  // Bytes of the constants behind `value`, following carriers up from the consumer.
  const weightBytes = (value: string, depth: number): number => {
    const init = graph.initializers.get(value);
    if (init) {
      if (counted.has(value)) return 0;
      counted.add(value);
      return init.byteLength;
    }
    const from = producer.get(value);
    if (!from || depth > 4 || !CARRIERS.has(from.opType)) return 0;
    return from.inputs.reduce((n, i) => n + (i ? weightBytes(i, depth + 1) : 0), 0);
  };
  for (const node of graph.nodes) {
    if (CARRIERS.has(node.opType)) continue;
    const bytes = node.inputs.reduce((n, i) => n + (i ? weightBytes(i, 0) : 0), 0);
    if (bytes > 0) rows.set(node, { node: node.name || node.outputs[0] || node.opType, op: node.opType, bytes });
  }
  return [...rows.values()].sort((a, b) => b.bytes - a.bytes).slice(0, limit);
}
