/**
 * Shape and type inference over a graph, in topological order. Known ops compute their
 * outputs from the op table; unknown ops (and ops whose inputs are unknown) keep what the
 * model declares in value_info. An impossible shape is reported with the node's name.
 */
import { InputError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { Dim, TensorType } from '../ir/value.ts';
import type { DType } from '../onnx/dtype.ts';
import { constantNodeTensor } from './constant.ts';
import { opSpec } from './registry.ts';

export type TypeMap = Map<string, TensorType>;
/** Known values of small integer tensors, flattened; free sizes as symbols ('N'). */
export type ValueMap = Map<string, Dim[]>;

const INTEGER_DTYPES = new Set<DType | undefined>(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

/** Constants visible to a graph: its initializers and Constant-node outputs. */
export function constantValues(graph: Graph): Map<string, Tensor> {
  const out = new Map(graph.initializers);
  const declaredInputs = new Set(graph.inputs.map((v) => v.name));
  for (const name of declaredInputs) out.delete(name); // an initializer that is also an input can be overridden
  for (const n of graph.nodes) {
    const t = constantNodeTensor(n);
    if (t) out.set(n.outputs[0], t);
  }
  return out;
}

export function inferShapes(model: Model, graph: Graph = model.graph, outer: TypeMap = new Map()): TypeMap {
  return inferShapesAndValues(model, graph, outer).types;
}

/** Largest integer constant whose values are tracked (shape computations are short). */
const MAX_TRACKED_VALUES = 64;

/**
 * Types, and the values of small integer tensors: integer constants, and what the op table's
 * `value` column propagates from them and from shapes (Shape → Gather → Concat …), with free
 * dims kept symbolic. Reshape's inference reads them, so a computed target gives a shape.
 */
export function inferShapesAndValues(model: Model, graph: Graph = model.graph, outer: TypeMap = new Map()): { types: TypeMap; values: ValueMap } {
  const types: TypeMap = new Map(outer);
  for (const v of graph.valueInfo) if (v.type) types.set(v.name, v.type);
  for (const v of graph.inputs) if (v.type) types.set(v.name, v.type);
  for (const t of graph.initializers.values()) if (!types.has(t.name)) types.set(t.name, { dtype: t.dtype, shape: [...t.dims] });
  const constants = constantValues(graph);
  const values: ValueMap = new Map();
  for (const [name, t] of constants) {
    if (INTEGER_DTYPES.has(t.dtype) && t.size <= MAX_TRACKED_VALUES) values.set(name, Array.from(t.typed() as ArrayLike<number | bigint>, Number));
  }
  const declaredOutputs = new Map(graph.outputs.map((v) => [v.name, v.type]));
  for (const node of graph.nodes) {
    const spec = opSpec(node);
    if (!spec?.infer && !spec?.valuePreserving && !spec?.value) continue;
    const ctx = {
      node,
      inputs: node.inputs.map((i) => (i ? types.get(i) : undefined)),
      value: (i: number) => values.get(node.inputs[i] ?? ''),
      constant: (i: number) => constants.get(node.inputs[i] ?? ''),
      opset: model.opsets.get(node.domain === 'ai.onnx' ? '' : node.domain) ?? 0,
    };
    let outs: (TensorType | undefined)[] = [];
    try {
      if (spec.infer) outs = spec.infer(ctx);
      const value = node.outputs[0] && !values.has(node.outputs[0]) ? spec.value?.(ctx) : undefined;
      if (value) values.set(node.outputs[0]!, value);
    } catch (err) {
      throw new InputError(`node ${node.label}: ${(err as Error).message}`);
    }
    // A value-preserving op's first output has its input's dtype even where no shape rule exists (Slice).
    const passed = spec.valuePreserving ? types.get(node.inputs[0] ?? '')?.dtype : undefined;
    if (passed && !outs[0]?.dtype) outs[0] = { dtype: passed, shape: outs[0]?.shape };
    node.outputs.forEach((name, i) => {
      const inferred = outs[i];
      if (!name || !inferred) return;
      // Keep a declared dimension where inference could not tell (e.g. after a dynamic reshape).
      const declared = types.get(name) ?? declaredOutputs.get(name);
      const shape = inferred.shape?.map((d, k) => d ?? declared?.shape?.[k]) ?? declared?.shape;
      types.set(name, { dtype: inferred.dtype ?? declared?.dtype, shape });
    });
  }
  return { types, values };
}
