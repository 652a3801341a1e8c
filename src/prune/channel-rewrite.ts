/**
 * Applies a channel plan: every recorded initializer slice (layer weights and biases,
 * BatchNormalization parameters, per-channel constants, the input-channel rows of the
 * layers reading the channels), Reshape targets and grouped-Conv group counts. Also builds
 * the masked reference — the original model with the removed channels' input weights zeroed
 * and its LayerNorm statistics taken over the kept channels — which the pruned model must
 * match exactly (up to float rounding).
 */
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import { Tensor } from '../ir/tensor.ts';
import type { TypedArray } from '../onnx/dtype.ts';
import type { ChannelGraph, InitSlice } from './channel-types.ts';
import type { ChannelPlan } from './channel-plan.ts';
import { initializerReaders } from './layers.ts';
import { maskStatistic } from './masked-statistics.ts';
import { freshName, setInput, setValues, sliceInput } from './tensor-ops.ts';

const keptPositions = (ids: Int32Array, plan: ChannelPlan) => {
  const out: number[] = [];
  ids.forEach((id, p) => {
    if (plan.kept(id)) out.push(p);
  });
  return out;
};

export function rewriteChannels(cg: ChannelGraph, plan: ChannelPlan): void {
  const g = cg.graph;
  const readers = initializerReaders(g);
  for (const s of cg.slices) sliceInput(g, s.node, s.input, s.axis, keptPositions(s.ids, plan), readers);
  for (const r of cg.reshapes) {
    const kept = keptPositions(r.ids, plan).length;
    if (r.target) {
      // The computed target becomes a constant (its shape computation is then dead code).
      const name = freshName(g, `${r.node.name || r.node.outputs[0]}_shape`);
      g.addInitializer(Tensor.fromTyped(name, BigInt64Array.from(r.target, (d, i) => BigInt(i === r.position ? kept : d)), [r.target.length]));
      r.node.inputs[1] = name;
      continue;
    }
    const t = g.initializers.get(r.node.inputs[1]!)!;
    const values = t.typed().slice() as TypedArray;
    (values as unknown as Array<number | bigint>)[r.position] = values instanceof BigInt64Array ? BigInt(kept) : kept;
    setInput(g, r.node, 1, values, [...t.dims], readers);
  }
  for (const s of cg.groups) {
    const kept = plan.keptPerSpace[s.index]!;
    const per = s.perGroup ?? 1;
    if (kept % per !== 0) throw new Error(`grouped Conv ${s.layer.node.label}: ${kept} channels kept, not whole groups of ${per}`);
    s.layer.node.setAttr('group', kept / per);
  }
  g.valueInfo = g.valueInfo.filter((v) => !cg.mapped.has(v.name));
}

/**
 * The masked reference: in `copy` (the same model before the rewrite, nodes in the same
 * order), the weights reading removed channels are zeroed. Removing a channel and zeroing
 * every weight that reads it compute the same outputs.
 */
export function maskReference(cg: ChannelGraph, plan: ChannelPlan, copy: Model, graph: Graph = copy.graph): void {
  const order = new Map(cg.graph.nodes.map((n, i) => [n, i]));
  const statistics = cg.statistics.map((s) => ({ ...s, node: graph.nodes[order.get(s.node)!]! }));
  for (const s of cg.slices.filter((x): x is InitSlice & { sink: true } => !!x.sink)) {
    const node = graph.nodes[order.get(s.node)!]!;
    const t = graph.initializers.get(node.inputs[s.input]!)!;
    const removed = new Set<number>();
    s.ids.forEach((id, p) => {
      if (!plan.kept(id)) removed.add(p);
    });
    if (!removed.size) continue;
    const v = t.typed().slice() as TypedArray;
    const inner = t.dims.slice(s.axis + 1).reduce((a, b) => a * b, 1);
    const size = t.dims[s.axis]!;
    for (let i = 0; i < v.length; i++) if (removed.has(Math.floor(i / inner) % size)) (v as unknown as number[])[i] = 0;
    setValues(t, v, t.dims);
  }
  for (const s of statistics) maskStatistic(copy, graph, s, plan);
}
