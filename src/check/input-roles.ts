/**
 * Random inputs a model can actually take, for verification on random inputs: each graph
 * input gets values valid for the role it plays, found from the nodes that read it. An index
 * into a table (Gather, GatherElements, Embedding-style lookups) stays inside the table; a
 * shape, axes or sizes input cannot be random at all, so the model is reported unverifiable
 * rather than failing in onnxruntime; booleans, strings and every integer type are covered.
 * Which inputs index a table or set a shape is the op table's `inputs` column (src/ops/inputs.ts).
 * Pure (no onnxruntime): the runtime wrapper turns the plan into tensors.
 */
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import type { Dim } from '../ir/value.ts';
import type { DType } from '../onnx/dtype.ts';
import { opSpec } from '../ops/registry.ts';

export type InputRole =
  | { kind: 'real'; min: number; max: number }
  | { kind: 'index'; /** exclusive upper bound; indices are drawn from [0, bound) */ bound: number }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'string' };

export interface InputPlan {
  name: string;
  dtype: DType;
  /** Fixed dims; symbolic ones resolved by the caller (batch, given sizes). */
  shape: Dim[];
  role: InputRole;
}

export type FeedPlan = { inputs: InputPlan[] } | { unverifiable: string };

const INTEGER_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [0, 1], int64: [0, 1], uint32: [0, 1], uint64: [0, 1],
};

function attrInt(n: Node, name: string, fallback: number): number {
  const a = n.attributes.find((x) => x.name === name);
  return a ? Number(a.value) : fallback;
}

/** The size of the dimension an index input indexes, when the graph states it. */
function tableDim(g: Graph, n: Node, table: number, axisAttr: string | undefined): number | undefined {
  const name = n.inputs[table];
  if (!name) return undefined;
  const init = g.initializers.get(name);
  const shape = init ? init.dims : g.inputs.find((v) => v.name === name)?.type?.shape;
  if (!shape) return undefined;
  let axis = axisAttr ? attrInt(n, axisAttr, 0) : 0;
  if (axis < 0) axis += shape.length;
  const d = shape[axis];
  return typeof d === 'number' && d > 0 ? d : undefined;
}

function roleOf(g: Graph, name: string, dtype: DType, readers: readonly Node[]): InputRole | string {
  if (dtype === 'bool') return { kind: 'bool' };
  if (dtype === 'string') return { kind: 'string' };
  let bound: number | undefined;
  let divisor = false;
  for (const n of readers) {
    const facts = opSpec(n)?.inputs;
    const slots = n.inputs.flatMap((i, at) => (i === name ? [at] : []));
    if (slots.some((s) => facts?.structural?.includes(s))) {
      return `input '${name}' sets a shape or axes of node ${n.label}; random values cannot stand for it`;
    }
    if (slots.some((s) => facts?.divisor?.includes(s))) divisor = true;
    const idx = facts?.index;
    if (idx && slots.includes(idx.slot)) {
      const d = tableDim(g, n, idx.table, idx.axisAttr);
      bound = Math.min(bound ?? Infinity, d ?? 1); // unknown table size: 0 is valid for any non-empty one
    }
  }
  if (bound !== undefined) return { kind: 'index', bound };
  const range = INTEGER_RANGE[dtype];
  // An integer divisor of 0 is an error in onnxruntime, not a value: divisors start at 1.
  if (range) return { kind: 'integer', min: divisor ? Math.max(1, range[0]) : range[0], max: range[1] };
  return { kind: 'real', min: -1, max: 1 };
}

/** The plan's roles by input name, as random feeds take them (src/runtime/feeds.ts). */
export function rolesByName(inputs: readonly InputPlan[]): Record<string, InputRole> {
  return Object.fromEntries(inputs.map((p) => [p.name, p.role]));
}

/** What to feed each graph input of `model`, or why random inputs cannot verify it. */
export function planRandomFeeds(model: Model): FeedPlan {
  const g = model.graph;
  const consumers = g.index().consumers;
  const inputs: InputPlan[] = [];
  for (const v of g.inputs) {
    if (g.initializers.has(v.name)) continue; // an initializer listed as input: its default is used
    const dtype = v.type?.dtype;
    if (!dtype) return { unverifiable: `input '${v.name}' is not a tensor` };
    const role = roleOf(g, v.name, dtype, consumers.get(v.name) ?? []);
    if (typeof role === 'string') return { unverifiable: role };
    inputs.push({ name: v.name, dtype, shape: v.type?.shape ?? [], role });
  }
  return { inputs };
}
