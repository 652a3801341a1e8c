/**
 * Checks a loaded model before any pass touches it, so bad input fails early with the
 * name of the tensor or node at fault: non-finite weights, reads of values nothing
 * defines, and duplicate definitions.
 */
import { InputError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import { isFloatDType } from '../onnx/dtype.ts';

function checkFinite(g: Graph): void {
  for (const t of g.initializers.values()) {
    if (!isFloatDType(t.dtype) || t.payload.kind === 'strings') continue;
    const v = t.toFloat32();
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new InputError(`tensor '${t.name}' contains ${v[i]} at index ${i}`);
    }
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

/** Throws an InputError naming the first problem found. Reads every float weight once. */
export function validateModel(model: Model): void {
  checkDefinitions(model.graph, new Set());
  for (const g of model.graph.walk()) checkFinite(g);
}
