/**
 * Bias compensation after channel pruning (optional, needs calibration data). A removed
 * channel took its mean value, not zero, into every layer that read it; that mean's
 * contribution is folded into the reading layer's bias, so the next layer's pre-activations
 * keep their average and only the channel's variation is lost:
 *   Conv: b[o] += Σ_removed c  mean[c] · Σ_k W[o, c, k]     Gemm/MatMul: b[o] += Σ_removed f  mean[f] · W[o, f]
 * Means are measured on the model before the rewrite, with the removed channels' readers
 * masked (the network as it will be), over the calibration samples. Conv means are per
 * channel over batch and space (zero padding at the borders is not modelled).
 */
import type { Dataset } from '../data/dataset.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import { Node } from '../ir/node.ts';
import { Tensor } from '../ir/tensor.ts';
import { modelBytesWithOutputs } from '../runtime/capture.ts';
import { floatBatches, runBatches } from '../runtime/batches.ts';
import { createSession } from '../runtime/ort.ts';
import type { ChannelGraph, InitSlice } from './channel-types.ts';
import type { ChannelPlan } from './channel-plan.ts';
import { freshName } from './tensor-ops.ts';

export interface CompensationSource {
  dataset: Dataset;
  /** Samples used (the first N). */
  limit: number;
  batchSize: number;
}

/** Per-position means, along each sink's channel axis, of the sink inputs of `reference`. */
async function sinkMeans(reference: Model, names: ReadonlyMap<string, number>, src: CompensationSource): Promise<Map<string, Float64Array>> {
  const bytes = modelBytesWithOutputs(reference, [...names.keys()]);
  const session = await createSession(bytes, { label: 'the masked model (bias compensation)' });
  const sums = new Map<string, Float64Array>();
  const counts = new Map<string, number>();
  try {
    for await (const { values } of runBatches(session, floatBatches(src.dataset, src.batchSize, src.limit), [...names.keys()])) {
      for (const [name, axis] of names) {
        const t = values.get(name);
        if (!t) continue;
        const v = t.data;
        const dims = t.dims;
        const size = dims[axis]!;
        const inner = dims.slice(axis + 1).reduce((a, c) => a * c, 1);
        const s = sums.get(name) ?? new Float64Array(size);
        for (let i = 0; i < v.length; i++) {
          const c = Math.floor(i / inner) % size;
          s[c] = s[c]! + v[i]!;
        }
        sums.set(name, s);
        counts.set(name, (counts.get(name) ?? 0) + v.length / size);
      }
    }
  } finally {
    await session.close();
  }
  for (const [name, s] of sums) s.forEach((v, i) => (s[i] = v / counts.get(name)!));
  return sums;
}

/** Adds `delta` to the layer's bias (creating one, or an Add after a MatMul, when there is none). */
function addToBias(g: Graph, node: Node, delta: Float64Array): void {
  const out = delta.length;
  if (node.opType === 'MatMul') {
    const name = freshName(g, `${node.name || node.outputs[0]}.bias_compensation`);
    g.addInitializer(Tensor.fromTyped(name, Float32Array.from(delta), [out]));
    const y = node.outputs[0]!;
    const pre = freshName(g, `${y}_uncompensated`);
    node.outputs[0] = pre;
    g.nodes.splice(g.nodes.indexOf(node) + 1, 0, new Node('Add', [pre, name], [y], freshName(g, `${node.name || 'matmul'}.compensation`)));
    return;
  }
  const scale = node.opType === 'Gemm' ? node.getFloat('alpha', 1) / node.getFloat('beta', 1) : 1;
  const current = node.inputs[2] ? g.initializers.get(node.inputs[2]) : undefined;
  const base = current?.toFloat32();
  const dims = current && current.size === out ? [...current.dims] : [out];
  const values = Float32Array.from(delta, (d, o) => (base ? base[base.length === 1 ? 0 : o]! : 0) + d * scale);
  const name = freshName(g, `${node.inputs[2] || `${node.name || node.outputs[0]}.bias`}_compensated`);
  g.addInitializer(Tensor.fromTyped(name, values, dims));
  node.inputs[2] = name;
}

/** Sink weights before the rewrite: their removed input channels are needed afterwards. */
export type SinkWeights = Map<InitSlice, { values: Float32Array; dims: number[]; outIds?: Int32Array }>;

export function sinkWeights(cg: ChannelGraph, plan: ChannelPlan): SinkWeights {
  const out: SinkWeights = new Map();
  for (const s of cg.slices) {
    if (!s.sink || s.inputAxis === undefined || ![...s.ids].some((id) => !plan.kept(id))) continue;
    const w = cg.graph.initializers.get(s.node.inputs[s.input]!)!;
    // The reader's own output channels may be pruned too: its bias then has only the kept ones.
    const own = cg.slices.find((x) => x.node === s.node && x.input === s.input && !x.sink);
    out.set(s, { values: w.toFloat32().slice(), dims: [...w.dims], outIds: own?.ids });
  }
  return out;
}

/**
 * Folds the removed channels' means into the biases of the layers that read them, in the
 * rewritten graph `cg.graph`. `reference` is the model before the rewrite with the removed
 * channels' readers masked; `weights` the readers' weights before the rewrite. Returns the
 * number of layers adjusted.
 */
export async function compensateBiases(cg: ChannelGraph, plan: ChannelPlan, weights: SinkWeights, reference: Model, src: CompensationSource): Promise<number> {
  if (!weights.size) return 0;
  const names = new Map([...weights.keys()].map((s) => [s.node.inputs[0]!, s.inputAxis!]));
  const means = await sinkMeans(reference, names, src);
  let adjusted = 0;
  for (const [s, w] of weights) {
    const mean = means.get(s.node.inputs[0]!);
    if (!mean) continue; // no calibration batch fitted the model's input
    adjusted++;
    const outAxis = s.axis === 1 ? 0 : 1;
    const outs = w.dims[outAxis]!;
    const inner = w.dims.slice(s.axis + 1).reduce((a, c) => a * c, 1);
    const size = w.dims[s.axis]!;
    const delta = new Float64Array(outs);
    for (let i = 0; i < w.values.length; i++) {
      const c = Math.floor(i / inner) % size;
      if (plan.kept(s.ids[c]!)) continue;
      const o = outAxis === 0 ? Math.floor(i / (size * inner)) : i % outs;
      delta[o] = delta[o]! + mean[c]! * w.values[i]!;
    }
    const kept = w.outIds ? delta.filter((_, o) => plan.kept(w.outIds![o]!)) : delta;
    addToBias(cg.graph, s.node, kept);
  }
  return adjusted;
}
