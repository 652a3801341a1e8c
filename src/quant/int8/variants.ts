/**
 * Builders of quantized variants of one float model: the same analysis, weights and
 * calibration statistics, and a set of layers forced to float. Fallback and sensitivity
 * build many variants; the chosen one is committed.
 */
import type { Model } from '../../ir/model.ts';
import type { Node } from '../../ir/node.ts';
import type { DType } from '../../onnx/dtype.ts';
import type { ActivationStats } from '../calibration/activation-stats.ts';
import { affineParams, qrange, type AffineParams } from '../scales.ts';
import type { DeferredWeight } from './dynamic-weight.ts';
import { dynamicWeights, emitDynamic, makeDynamicPlan } from './emit-dynamic.ts';
import { emitQdq, type EmitContext } from './emit-qdq.ts';
import { emitQOperator } from './emit-qoperator.ts';
import { groupTensors, makePlan, planLayers, type GraphFacts, type Plan, type Selection } from './plan.ts';
import type { Range } from '../calibration/calibrators.ts';
import type { InputSource } from '../calibration/run.ts';
import type { ActivationType, QuantizeOptions } from './types.ts';
import { storesConstantsInt8 } from './options.ts';
import { WeightQuantizer } from './weights.ts';

/** A quantized layer's output and how to read it back as float from the variant. */
export interface LayerProbe {
  node: Node;
  /** Name of the float tensor in the source model. */
  tensor: string;
  /** What to fetch from the variant, and its dtype. */
  fetch: { name: string; dtype: DType };
  /** Set when the fetched value is 8-bit codes. */
  dequantize?: AffineParams;
}

export interface Variant {
  model: Model;
  /** Quantized nodes (layers and value-preserving ops). */
  quantized: Node[];
  skipped: Map<Node, string>;
  probes: LayerProbe[];
  weights: number;
}

export interface VariantBuilder {
  /** The layers fallback may return to float (those quantized when nothing extra is forced to float). */
  readonly layers: Node[];
  build(extraFloat: ReadonlyMap<Node, string>): Promise<Variant>;
}

/**
 * Concat inputs share the output's range when each input's own range is at least half as
 * wide (sharing then costs at most one bit); otherwise each keeps its own and the Concat
 * requantizes (QLinearConcat).
 */
export function concatTies(plan: Plan, range: (t: string) => Range): string[][] {
  const width = (t: string) => {
    const r = range(t);
    return Math.max(r.hi, 0) - Math.min(r.lo, 0);
  };
  const ties: string[][] = [];
  for (const p of plan.nodes.values()) {
    if (p.kind !== 'concat') continue;
    const ins = p.acts.map((i) => p.node.inputs[i]!);
    const out = p.outputs[0]!;
    const w = width(out);
    if (ins.every((t) => width(t) >= 0.5 * w)) ties.push([out, ...ins]);
  }
  return ties;
}

/**
 * Groups the plan's tensors (value-preserving ties, Concat inputs where sharing is cheap) and
 * returns each tensor's parameters from its group's merged histograms, cached by group.
 */
export function calibratedParams(plan: Plan, stats: ActivationStats, o: QuantizeOptions, cache = new Map<string, AffineParams>()): (tensor: string) => AffineParams {
  const type: ActivationType = o.activationType;
  plan.groupOf = groupTensors(plan, concatTies(plan, (t) => stats.range([t], { method: o.calibration, percentile: o.percentile, type })));
  const members = new Map<string, string[]>();
  for (const [t, rep] of plan.groupOf) members.set(rep, [...(members.get(rep) ?? []), t]);
  return (t) => {
    const group = members.get(plan.groupOf.get(t) ?? t) ?? [t];
    const key = [...group].sort().join('\u0000');
    let p = cache.get(key);
    if (!p) {
      const r = stats.range(group, { method: o.calibration, percentile: o.percentile, type });
      p = affineParams(r.lo, r.hi, qrange(type));
      cache.set(key, p);
    }
    return p;
  };
}

export function staticBuilder(model: Model, facts: GraphFacts, sel: Selection, o: QuantizeOptions, stats: ActivationStats, source: InputSource): VariantBuilder {
  const weights = new WeightQuantizer(facts.consts);
  const paramCache = new Map<string, AffineParams>();
  const full = makePlan(facts, sel);
  const type: ActivationType = o.activationType;
  return {
    layers: planLayers(full).map((p) => p.node),
    async build(extraFloat) {
      const plan = makePlan(facts, { ...sel, float: new Map([...sel.float, ...extraFloat]) });
      await stats.collect(model, plan.tensors, source, facts.types);
      const params = calibratedParams(plan, stats, o, paramCache);
      const intNames = new Map<string, string>();
      const ctx: EmitContext = { plan, facts, weights, params, activationType: type, intNames, constantsInt8: storesConstantsInt8(o) };
      const built = o.format === 'qoperator' ? emitQOperator(model, ctx) : emitQdq(model, ctx);
      const probes: LayerProbe[] = planLayers(plan).map((p) => {
        const tensor = p.outputs[0]!;
        const int = intNames.get(tensor);
        return int ? { node: p.node, tensor, fetch: { name: int, dtype: type }, dequantize: params(tensor) } : { node: p.node, tensor, fetch: { name: tensor, dtype: 'float32' } };
      });
      const sources = new Set([...plan.nodes.values()].filter((p) => p.weight).map((p) => p.node.inputs[p.weight!.index]!));
      return { model: built, quantized: [...plan.nodes.keys()], skipped: plan.skipped, probes, weights: sources.size };
    },
  };
}

/**
 * Dynamic int8's precision ladder: a layer with an integer op (run-time per-tensor uint8
 * activations) steps down to weight-only int8 (int8 weights, float compute: the 4× smaller
 * weights are kept), and only then to float. A builder's `rung` is where the layers it
 * returns go: 'weight-only' (its layers are those running as integer ops) or 'float' (all).
 */
export type DynamicRung = 'weight-only' | 'float';

/** `sel` with the `extra` layers one rung down: in float (with their reasons), or weight-only. */
export function demoted(sel: Selection, extra: ReadonlyMap<Node, string>, rung: DynamicRung): Selection {
  if (extra.size === 0) return sel;
  if (rung === 'float') return { ...sel, float: new Map([...sel.float, ...extra]) };
  return { ...sel, weightOnly: new Set([...(sel.weightOnly ?? []), ...extra.keys()]) };
}

/**
 * `cache`: every weight's deferred codes, shared by the variants fallback builds (computed when
 * first read, or when saved; float values are never held beyond one weight per thread).
 */
export function dynamicBuilder(model: Model, facts: GraphFacts, sel: Selection, o: QuantizeOptions, rung: DynamicRung = 'float', cache = new Map<string, DeferredWeight>()): VariantBuilder {
  const full = makeDynamicPlan(facts, sel, model.opset());
  return {
    layers: [...full.nodes.values()].filter((p) => rung === 'float' || p.integer).map((p) => p.node),
    async build(extra) {
      const plan = extra.size === 0 ? full : makeDynamicPlan(facts, demoted(sel, extra, rung), model.opset());
      const built = emitDynamic(model, plan, facts, { perChannel: o.perChannel, cache });
      const probes = [...plan.nodes.keys()].map((node) => ({ node, tensor: node.outputs[0]!, fetch: { name: node.outputs[0]!, dtype: 'float32' as const } }));
      return { model: built, quantized: [...plan.nodes.keys()], skipped: plan.skipped, probes, weights: dynamicWeights(plan).size };
    },
  };
}
