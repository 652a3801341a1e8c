/**
 * The layers pruning works on: nodes whose weight (input 1) is a float initializer — Conv, Gemm and MatMul by default — with the weight's layout spelled out:
 * which axis holds output channels / neurons and which holds input channels / features.
 */
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import type { Tensor } from '../ir/tensor.ts';
import { opSpec, opTypesWhere } from '../ops/registry.ts';
import type { WeightLayout } from '../ops/types.ts';

const FLOAT_WEIGHTS = new Set(['float32', 'float16', 'float64']);

export type { WeightLayout };

/** Op types with a weight layout in the op table (Conv, Gemm, MatMul): what channel pruning can shrink. */
export const LAYER_OP_TYPES: readonly string[] = opTypesWhere((s) => s.layer !== undefined);

export interface PrunableLayer {
  node: Node;
  /** The node's name, or its first output when it has none. */
  name: string;
  weight: Tensor;
  layout: WeightLayout;
  /** Conv group count (1 for Gemm/MatMul). */
  group: number;
}

export function layerName(n: Node): string {
  return n.name || n.outputs[0] || n.opType;
}

/** Weight layout of a layer (the op table's `layer` column), or undefined for layouts pruning does not handle. */
export function weightLayout(node: Node, w: Tensor): WeightLayout | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  return opSpec(node)?.layer?.weight(node, w.dims.length);
}

/** Readers of each initializer in the main graph (nodes, and nodes whose subgraphs read it). */
export function initializerReaders(g: Graph): Map<string, Node[]> {
  const { consumers } = g.index();
  const out = new Map<string, Node[]>();
  for (const name of g.initializers.keys()) out.set(name, consumers.get(name) ?? []);
  return out;
}

/**
 * Prunable layers in graph order: of the main graph, or (`'all'`) of every graph, a body's
 * after the main graph's, a weight found in the graph of its node or in a graph around it.
 */
export function prunableLayers(model: Model, opTypes: readonly string[], graphs: 'main' | 'all' = 'main'): PrunableLayer[] {
  const out: PrunableLayer[] = [];
  const visit = (g: Graph, outer: ReadonlyMap<string, Tensor>) => {
    const weights = new Map([...outer, ...g.initializers]);
    for (const v of g.inputs) weights.delete(v.name);
    for (const node of g.nodes) {
      if (!opTypes.includes(node.opType)) continue;
      const spec = opSpec(node);
      if (!spec || !spec.weightInputs?.includes(1)) continue;
      const w = weights.get(node.inputs[1] ?? '');
      if (!w || !FLOAT_WEIGHTS.has(w.dtype)) continue;
      const layout = weightLayout(node, w);
      if (!layout) continue;
      out.push({ node, name: layerName(node), weight: w, layout, group: spec.layer?.groups?.(node) ?? 1 });
    }
    if (graphs === 'all') for (const n of g.nodes) for (const sub of n.subgraphs()) visit(sub, weights);
  };
  visit(model.graph, new Map());
  return out;
}

/** Resolves `skip` entries ('first', 'last', node names) to layer names; unknown names are an error for the caller. */
export function resolveSkip(layers: readonly PrunableLayer[], skip: readonly string[]): { names: Set<string>; unknown: string[] } {
  const names = new Set<string>();
  const unknown: string[] = [];
  const known = new Set(layers.map((l) => l.name));
  for (const s of skip) {
    if (s === 'first' && layers.length) names.add(layers[0]!.name);
    else if (s === 'last' && layers.length) names.add(layers[layers.length - 1]!.name);
    else if (known.has(s)) names.add(s);
    else if (s !== 'first' && s !== 'last') unknown.push(s);
  }
  return { names, unknown };
}
