/**
 * Checks a loaded model before any pass touches it, so bad input fails early with one line
 * naming the graph, tensor or node at fault. The loader has already checked each tensor's
 * storage against its dims; this checks how the pieces fit: names, definitions, cycles,
 * operand types, and (for compress) non-finite weights.
 */
import { InputError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import type { Tensor } from '../ir/tensor.ts';
import { tensorFacts } from '../ir/tensor-facts.ts';
import { isFloatDType, type DType } from '../onnx/dtype.ts';
import { opSpec } from '../ops/registry.ts';

/** The first NaN or ±Infinity in a float tensor, if any. */
function firstNonFinite(t: Tensor): { index: number; value: number } | undefined {
  if (!isFloatDType(t.dtype) || t.payload.kind === 'strings') return undefined;
  return tensorFacts(t).nonFinite;
}

/**
 * The node that multiplies `name` (the op table's `inputs.multiplied`), reached directly or
 * through ops that hand values on (value-preserving ones, Cast).
 */
function multiplier(name: string, readers: ReadonlyMap<string, ReadonlyArray<{ node: Node; slot: number }>>): { node: Node; slot: number } | undefined {
  const seen = new Set<string>();
  const todo = [name];
  while (todo.length) {
    const value = todo.pop()!;
    if (seen.has(value)) continue;
    seen.add(value);
    for (const r of readers.get(value) ?? []) {
      const spec = opSpec(r.node);
      if (spec?.inputs?.multiplied?.includes(r.slot)) return r;
      if (spec?.valuePreserving || spec?.inputs?.convertsValues) todo.push(...r.node.outputs.filter(Boolean));
    }
  }
  return undefined;
}

/** Float constants by value name: initializers and Constant node values, in every subgraph. */
function* floatConstants(model: Model): Generator<[string, Tensor]> {
  for (const g of model.graph.walk()) {
    for (const [name, t] of g.initializers) yield [name, t];
    for (const n of g.nodes) {
      const value = n.opType === 'Constant' && n.domain === '' ? n.attributes.find((a) => a.name === 'value' && a.type === 'tensor') : undefined;
      if (value && n.outputs[0]) yield [n.outputs[0], value.value as Tensor];
    }
  }
}

/**
 * NaN or ±Infinity in a weight that is multiplied makes outputs non-finite: refused, naming
 * the tensor and the node. Elsewhere (a Clip bound, a mask, a Pad value before MaxPool) it
 * has a meaning, and onnxruntime computes it exactly.
 */
function checkFinite(model: Model): void {
  const readers = new Map<string, Array<{ node: Node; slot: number }>>();
  for (const g of model.graph.walk()) {
    for (const node of g.nodes) {
      node.inputs.forEach((i, slot) => {
        if (i) (readers.get(i) ?? readers.set(i, []).get(i)!).push({ node, slot });
      });
    }
  }
  for (const [name, t] of floatConstants(model)) {
    const bad = firstNonFinite(t);
    const r = bad && multiplier(name, readers);
    if (r) throw new InputError(`tensor '${name}' contains ${bad.value} at index ${bad.index}, and node ${r.node.label} multiplies it (input ${r.slot + 1}): NaN and ±Infinity are accepted only where they bound, mask or pad (Clip, Where, Add, Pad, Max/Min)`);
  }
}

function checkDefinitions(g: Graph, outer: ReadonlySet<string>): void {
  const defined = new Set<string>([...outer, '', ...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  for (const s of g.sparseInitializers) defined.add(((s.values as { name?: string } | undefined)?.name) ?? '');
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      if (o && defined.has(o) && !outer.has(o)) throw new InputError(`node ${n.label} redefines value '${o}'`);
    }
    n.outputs.forEach((o) => defined.add(o));
  }
  for (const n of g.nodes) {
    for (const i of n.inputs) if (!defined.has(i)) throw new InputError(`node ${n.label} reads '${i}', which nothing defines`);
    for (const sub of n.subgraphs()) checkDefinitions(sub, defined);
  }
  for (const o of g.outputs) if (!defined.has(o.name)) throw new InputError(`graph output '${o.name}' is not defined`);
}

/** The ONNX checker requires a name on every graph; so do messages that name one. */
function checkGraphName(g: Graph, owner?: Node): void {
  if (g.name !== '') return;
  throw new InputError(owner ? `a subgraph of node ${owner.label} has an empty name (the ONNX checker requires one)` : 'the main graph has an empty name (the ONNX checker requires one)');
}

/** '' marks an omitted optional input: in a slot the op requires, the model is broken. */
function checkRequiredInputs(n: Node): void {
  const facts = opSpec(n)?.inputs; // from the ONNX specs; ops without them are onnxruntime's to check
  const { min, max } = facts ?? {};
  const count = `${n.inputs.length} input${n.inputs.length === 1 ? '' : 's'}`;
  if (min !== undefined && n.inputs.length < min) throw new InputError(`node ${n.label} has ${count}; ${n.opType} needs ${min}`);
  if (max !== undefined && n.inputs.length > max) throw new InputError(`node ${n.label} has ${count}; ${n.opType} takes at most ${max}`);
  const required = facts?.required === 'all' ? n.inputs.length : facts?.required;
  if (required === undefined) return;
  for (let i = 0; i < Math.min(required, n.inputs.length); i++) {
    if (n.inputs[i] === '') throw new InputError(`node ${n.label} leaves its required input ${i + 1} empty ('')`);
  }
}

/**
 * On a cycle, names the nodes on it (not merely nodes downstream of it): from a node the
 * topological order could not place, follow a missing input's producer until a node repeats.
 */
function checkAcyclic(g: Graph): void {
  const { stuck } = g.topologicalOrder();
  if (stuck.size === 0) return;
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  let at = g.nodes.find((n) => stuck.get(n)?.size)!;
  const seen: Node[] = [];
  while (!seen.includes(at)) {
    seen.push(at);
    at = producer.get([...stuck.get(at)!][0]!)!;
  }
  const cycle = seen.slice(seen.indexOf(at)).map((n) => n.label);
  throw new InputError(`graph '${g.name}' has a cycle: ${[...cycle, cycle[0]].join(' -> ')}`);
}

/** Element types of the values visible in `g` that the model states: inputs, initializers, Constant values. */
function declaredTypes(g: Graph, outer: ReadonlyMap<string, DType>): Map<string, DType> {
  const types = new Map(outer);
  for (const v of g.inputs) if (v.type?.dtype) types.set(v.name, v.type.dtype);
  for (const t of g.initializers.values()) types.set(t.name, t.dtype);
  for (const n of g.nodes) {
    const value = n.opType === 'Constant' && n.domain === '' ? n.attributes.find((a) => a.name === 'value' && a.type === 'tensor') : undefined;
    if (value && n.outputs[0]) types.set(n.outputs[0], (value.value as Tensor).dtype);
  }
  return types;
}

function checkOperandTypes(n: Node, types: ReadonlyMap<string, DType>): void {
  const facts = opSpec(n)?.inputs;
  if (facts?.numeric) {
    n.inputs.forEach((i, at) => {
      const t = types.get(i);
      if (t === 'string' || t === 'bool') throw new InputError(`node ${n.label} computes on numbers but its input ${at + 1} '${i}' is ${t}`);
    });
  }
  let first: { at: number; name: string; type: DType } | undefined;
  const sameType = facts?.sameType === 'all' ? n.inputs.map((_, i) => i) : (facts?.sameType ?? []).filter((i) => i < n.inputs.length);
  for (const at of sameType) {
    const name = n.inputs[at]!;
    const type = name ? types.get(name) : undefined;
    if (!type) continue;
    if (!first) first = { at, name, type };
    else if (type !== first.type) {
      throw new InputError(`node ${n.label} mixes types: input ${first.at + 1} '${first.name}' is ${first.type}, input ${at + 1} '${name}' is ${type}`);
    }
  }
  for (const at of facts?.int64 ?? []) {
    const i = n.inputs[at];
    const t = i ? types.get(i) : undefined;
    if (t !== undefined && t !== 'int64') throw new InputError(`node ${n.label} needs int64 for its input ${at + 1} '${i}', which is ${t}`);
  }
}

function checkGraph(g: Graph, owner: Node | undefined, outerTypes: ReadonlyMap<string, DType>): void {
  checkGraphName(g, owner);
  checkAcyclic(g);
  const types = declaredTypes(g, outerTypes);
  for (const n of g.nodes) {
    checkRequiredInputs(n);
    checkOperandTypes(n, types);
    for (const sub of n.subgraphs()) checkGraph(sub, n, types);
  }
}

/**
 * What can be checked without reading weights: graph names, definitions, cycles, required
 * inputs, operand types. For every command that works on a model (inspect included).
 */
export function validateStructure(model: Model, label?: string): void {
  named(label, () => {
    checkDefinitions(model.graph, new Set());
    checkGraph(model.graph, undefined, new Map());
  });
}

/** Messages start with `label` (the model's path) when given, like the loader's. */
function named(label: string | undefined, check: () => void): void {
  try {
    check();
  } catch (err) {
    if (label && err instanceof InputError) err.message = `${label}: ${err.message}`;
    throw err;
  }
}

/** Throws an InputError naming the first problem found. Reads every float weight once (its facts are kept for the run). */
export function validateModel(model: Model, label?: string): void {
  validateStructure(model, label);
  named(label, () => checkFinite(model));
}
