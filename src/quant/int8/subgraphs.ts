/**
 * int8 inside If/Loop/Scan bodies, with the rules of the main graph: each body is planned and
 * emitted as a graph of its own (dynamic, QDQ or QOperator, as the main graph), seeing the
 * types and constants of the graphs around it, and its quantized nodes replace its float
 * ones in place. Static ranges of body values are calibrated by running the float model
 * with them carried out as outputs (runtime/capture.ts); a body node whose values were never
 * computed on the calibration data (a branch not taken) stays float, with a note.
 *
 * Bodies are done after the main graph is final, on the float bodies the main graph's variant
 * still shares; fallback's variants quantize them on a copy (body-layers.ts).
 */
import type { Graph } from '../../ir/graph.ts';
import { Model } from '../../ir/model.ts';
import type { Node } from '../../ir/node.ts';
import type { Tensor } from '../../ir/tensor.ts';
import { constantValues, inferShapes, type TypeMap } from '../../ops/infer.ts';
import { capturableGraphs } from '../../runtime/capture.ts';
import type { ActivationStats } from '../calibration/activation-stats.ts';
import type { InputSource } from '../calibration/run.ts';
import { dynamicWeights, emitDynamic, makeDynamicPlan } from './emit-dynamic.ts';
import { emitQdq, type EmitContext } from './emit-qdq.ts';
import { emitQOperator } from './emit-qoperator.ts';
import { makePlan, type GraphFacts, type Plan, type Selection } from './plan.ts';
import { withShallowConvs } from './shallow-convs.ts';
import type { QuantizeOptions } from './types.ts';
import { storesConstantsInt8 } from './options.ts';
import { calibratedParams } from './variants.ts';
import { WeightQuantizer } from './weights.ts';

/** Every body graph below `main`, outer bodies first, with what it sees of the graphs around it. */
export function bodyFacts(model: Model, main: GraphFacts): GraphFacts[] {
  const out: GraphFacts[] = [];
  const visit = (g: Graph, types: TypeMap, consts: ReadonlyMap<string, Tensor>) => {
    for (const n of g.nodes) {
      for (const body of n.subgraphs()) {
        const inner = new Map([...consts, ...constantValues(body)]);
        for (const v of body.inputs) inner.delete(v.name);
        const f: GraphFacts = { graph: body, types: inferShapes(model, body, types), consts: inner, index: body.index() };
        out.push(f);
        visit(body, f.types, inner);
      }
    }
  };
  visit(main.graph, main.types, main.consts);
  return out;
}

/** What static mode needs to calibrate body values: the float model runs with them carried out. */
export interface BodyCalibration {
  stats: ActivationStats;
  source: InputSource;
  floatModel: Model;
}

export interface BodyResult {
  quantized: Node[];
  skipped: Map<Node, string>;
  weights: number;
}

/** Replaces a body's contents with the quantized graph built for it, and adds any new domain to the model. */
function commitBody(model: Model, body: Graph, built: Model): void {
  body.nodes = built.graph.nodes;
  body.valueInfo = built.graph.valueInfo;
  body.initializers.clear();
  for (const [k, t] of built.graph.initializers) body.initializers.set(k, t);
  for (const [d, v] of built.opsets) if (!model.opsets.has(d)) model.opsets.set(d, v);
}

/**
 * Quantizes every body of `model` (whose main graph is already quantized; its bodies are the
 * float ones), in place. Static mode needs `stats` and `source` to calibrate body values.
 */
export async function quantizeBodies(
  model: Model,
  bodies: readonly GraphFacts[],
  sel: Selection,
  o: QuantizeOptions,
  calibration?: BodyCalibration,
): Promise<BodyResult> {
  const result: BodyResult = { quantized: [], skipped: new Map(), weights: 0 };
  const scope = model.graph;
  if (o.mode === 'dynamic') {
    for (const f of bodies) {
      const plan = makeDynamicPlan(f, withShallowConvs(f, sel, o.mode, o.minConvInputChannels), model.opset());
      for (const [n, why] of plan.skipped) result.skipped.set(n, why);
      if (plan.nodes.size === 0) continue;
      commitBody(model, f.graph, emitDynamic(asModel(model, f.graph), plan, f, { perChannel: o.perChannel, scope }));
      result.quantized.push(...plan.nodes.keys());
      result.weights += dynamicWeights(plan).size;
    }
    return result;
  }
  if (!calibration) throw new Error('static quantization of bodies needs calibration');
  // The bodies as `model` holds them (a fallback variant's copy has the float model's structure).
  const capturable = capturableGraphs(model);
  const plans = new Map<GraphFacts, Plan>();
  for (const f of bodies) {
    const plan = makePlan(f, withShallowConvs(f, sel, o.mode, o.minConvInputChannels));
    if (capturable.has(f.graph)) plans.set(f, plan);
    else for (const n of plan.nodes.keys()) result.skipped.set(n, 'its values cannot be calibrated: it sits in a body of an op other than If/Loop/Scan');
  }
  const tensors = [...plans.values()].flatMap((p) => p.tensors);
  if (tensors.length === 0) return result;
  const types: TypeMap = new Map([...plans.keys()].flatMap((f) => [...f.types]));
  await calibration.stats.collect(calibration.floatModel, tensors, calibration.source, types);
  for (const [f, first] of plans) {
    // Nodes whose values the calibration data never reached (an If branch not taken) stay float.
    const unseen = [...first.nodes.values()].filter((p) => [...p.acts.map((i) => p.node.inputs[i]!), ...p.outputs].some((t) => t && calibration.stats.seen(t) === 0));
    const bodySel = withShallowConvs(f, sel, o.mode, o.minConvInputChannels);
    const float = new Map(bodySel.float);
    for (const p of unseen) float.set(p.node, 'the calibration data never ran it (a branch not taken?)');
    const plan = unseen.length ? makePlan(f, { ...bodySel, float }) : first;
    for (const [n, why] of plan.skipped) result.skipped.set(n, why);
    if (plan.nodes.size === 0) continue;
    const params = calibratedParams(plan, calibration.stats, o);
    const ctx: EmitContext = { plan, facts: f, weights: new WeightQuantizer(f.consts), params, activationType: o.activationType, intNames: new Map(), constantsInt8: storesConstantsInt8(o), scope };
    const sub = asModel(model, f.graph);
    commitBody(model, f.graph, o.format === 'qoperator' ? emitQOperator(sub, ctx) : emitQdq(sub, ctx));
    result.quantized.push(...plan.nodes.keys());
    result.weights += new Set([...plan.nodes.values()].filter((p) => p.weight).map((p) => p.node.inputs[p.weight!.index])).size;
  }
  return result;
}

/** A body seen as a model of its own (the model's opsets), for the emitters. */
function asModel(model: Model, body: Graph): Model {
  return new Model(body, new Map(model.opsets), model.irVersion);
}
