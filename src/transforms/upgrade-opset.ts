/**
 * Raises a model's default-domain opset (1 … 20) to a newer one (≤ 21), in place, as onnx's
 * version_converter does: every default-domain node in every graph and subgraph is taken
 * through each version at which its op changed, by that step's adapter or because the step
 * is compatible (src/ops/versions.ts). A step with no known way is refused with the op, the
 * node and the versions; the model is left as it was only if the caller gave a copy.
 */
import { InputError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import { FreshNames } from '../ir/names.ts';
import type { Node } from '../ir/node.ts';
import type { Tensor } from '../ir/tensor.ts';
import { constantValues, inferShapes, type TypeMap } from '../ops/infer.ts';
import { minIrVersion, NEWEST_OPSET, sinceVersions, versionStep, type AdaptContext } from '../ops/versions.ts';

export interface OpsetUpgrade {
  readonly from: number;
  readonly to: number;
  /** Nodes rewritten, by op and adapter ("Slice starts/ends/axes → inputs"). */
  readonly rewrites: Readonly<Record<string, number>>;
}

/** An adapter's context that also knows which node and step it is at (for refusals). */
type StepContext = AdaptContext & { at(node: Node, from: number, v: number): void };

const isDefaultDomain = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';

export function upgradeOpset(model: Model, target: number): OpsetUpgrade {
  const from = model.opset('');
  if (from >= target) return { from, to: from, rewrites: {} };
  if (target > NEWEST_OPSET) throw new InputError(`cannot convert to opset ${target}; the newest this converter knows is ${NEWEST_OPSET}`);
  if (!(from >= 1)) throw new InputError(`the model imports default-domain opset ${from}, which is not an opset`);
  if (Array.isArray(model.proto.functions) && model.proto.functions.length > 0) {
    throw new InputError('the model has model-local functions, whose bodies this converter does not convert');
  }
  const rewrites: Record<string, number> = {};
  const names = new FreshNames(model.graph);
  const convertGraph = (graph: Graph, outer: TypeMap) => {
    const types = typesOf(model, graph, outer);
    const consts = constantValues(graph);
    const index = graph.index();
    const converted: Node[] = [];
    for (const node of graph.nodes) {
      if (!isDefaultDomain(node)) {
        converted.push(node);
        continue;
      }
      const c = adaptContext(graph, node, types, consts, index.consumers, names);
      converted.push(...upgradeNode(node, from, target, c, rewrites));
    }
    graph.nodes = converted;
    for (const node of converted) for (const body of node.subgraphs()) convertGraph(body, types);
  };
  convertGraph(model.graph, new Map());
  model.opsets.set('', target);
  if (Number(model.irVersion) < minIrVersion(target)) model.irVersion = minIrVersion(target);
  return { from, to: target, rewrites };
}

/**
 * Value types for the adapters. Inference follows today's op semantics, which an old model
 * may contradict (Add-6 broadcasting from an axis): then only the declared types are known.
 */
function typesOf(model: Model, graph: Graph, outer: TypeMap): TypeMap {
  try {
    return inferShapes(model, graph, outer);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const types = new Map(outer);
    for (const v of [...graph.valueInfo, ...graph.inputs, ...graph.outputs]) if (v.type) types.set(v.name, v.type);
    for (const t of graph.initializers.values()) types.set(t.name, { dtype: t.dtype, shape: [...t.dims] });
    return types;
  }
}

/** The node (and any it was expanded into) at version `to`. */
function upgradeNode(node: Node, at: number, to: number, c: StepContext, rewrites: Record<string, number>): Node[] {
  const history = sinceVersions(node.opType);
  if (!history) throw new InputError(`node ${node.label}: '${node.opType}' is not an ONNX operator, so its versions are unknown`);
  if (history[0]! > at) throw new InputError(`node ${node.label}: ${node.opType} does not exist in opset ${at} (it was added in ${history[0]})`);
  const v = history.find((s) => s > at && s <= to);
  if (v === undefined) return [node];
  const step = versionStep(node.opType, v);
  c.at(node, at, v);
  if (step === undefined) throw c.refuse(`no adapter for its change in opset ${v}`);
  if (step === 'compatible') return upgradeNode(node, v, to, c, rewrites);
  const op = node.opType;
  const result = step.adapt(node, c);
  if (result !== false) rewrites[`${op} ${step.what}`] = (rewrites[`${op} ${step.what}`] ?? 0) + 1;
  return (Array.isArray(result) ? result : [node]).flatMap((n) => upgradeNode(n, v, to, c, rewrites));
}

function adaptContext(graph: Graph, first: Node, types: TypeMap, consts: Map<string, Tensor>, consumers: Map<string, Node[]>, names: FreshNames): StepContext {
  let where = { node: first, from: 0, v: 0 };
  return {
    graph,
    type: (value: string) => types.get(value),
    constant: (value: string) => consts.get(value),
    isRead: (value: string) => (consumers.get(value)?.length ?? 0) > 0 || graph.isGraphOutput(value),
    fresh: (base: string) => names.fresh(base),
    constantInput(node: Node, what: string, tensor: (name: string) => Tensor) {
      const t = graph.addInitializer(tensor(names.fresh(`${node.name || node.outputs[0]}_${what}`)));
      consts.set(t.name, t);
      return t.name;
    },
    refuse(why: string) {
      return new InputError(`cannot convert ${where.node.label} from opset ${where.from} to ${where.v}: ${why}`);
    },
    at(node: Node, from: number, v: number) {
      where = { node, from, v };
    },
  };
}

/** One line for the report: "opset 9 → 13: upgraded for per-channel int8 (2× Slice starts/ends/axes → inputs)". */
export function describeUpgrade(u: OpsetUpgrade, why?: string): string {
  if (u.from === u.to) return `opset ${u.from}: already at or above the target, unchanged`;
  const done = Object.entries(u.rewrites).map(([what, n]) => `${n}× ${what}`);
  return `opset ${u.from} → ${u.to}: upgraded${why ? ` ${why}` : ''}${done.length ? ` (${done.join(', ')})` : ''}`;
}

/**
 * Raises the model to `need` when it is older, for a step whose output format needs it
 * (`purpose`: "per-channel int8"); returns the report note, or undefined when nothing was
 * needed. A failed upgrade says what needed it: "<what> needs opset N and the model imports opset M; …".
 */
export function upgradeForFormat(model: Model, need: number, what: string, purpose: string, alternative = ''): string | undefined {
  const from = model.opset('');
  if (from >= need) return undefined;
  try {
    return describeUpgrade(upgradeOpset(model, need), `for ${purpose}`);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new InputError(`${what} needs opset ${need} and the model imports opset ${from}; upgrading it failed: ${err.message}${alternative}`, { cause: err });
  }
}
