/**
 * Shape and type inference over a graph, in topological order. Known ops compute their
 * outputs from the op table; unknown ops (and ops whose inputs are unknown) keep what the
 * model declares in value_info. An impossible shape is reported with the node's name.
 */
import { InputError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { TensorType } from '../ir/value.ts';
import { constantNodeTensor } from './constant.ts';
import { opSpec } from './registry.ts';

export type TypeMap = Map<string, TensorType>;

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
  const types: TypeMap = new Map(outer);
  for (const v of graph.valueInfo) if (v.type) types.set(v.name, v.type);
  for (const v of graph.inputs) if (v.type) types.set(v.name, v.type);
  for (const t of graph.initializers.values()) if (!types.has(t.name)) types.set(t.name, { dtype: t.dtype, shape: [...t.dims] });
  const constants = constantValues(graph);
  const declaredOutputs = new Map(graph.outputs.map((v) => [v.name, v.type]));
  for (const node of graph.nodes) {
    const spec = opSpec(node);
    if (!spec?.infer && !spec?.valuePreserving) continue;
    let outs: (TensorType | undefined)[] = [];
    try {
      if (spec.infer) outs = spec.infer({
        node,
        inputs: node.inputs.map((i) => (i ? types.get(i) : undefined)),
        constant: (i) => constants.get(node.inputs[i] ?? ''),
        opset: model.opsets.get(node.domain === 'ai.onnx' ? '' : node.domain) ?? 0,
      });
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
  return types;
}
