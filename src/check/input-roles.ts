/**
 * Random inputs a model can actually take, for verification on random inputs: each graph
 * input gets values valid for the role it plays, found from the nodes that read it. An index
 * into a table (Gather, GatherElements, Embedding-style lookups) stays inside the table; a
 * shape, axes or sizes input cannot be random at all, so the model is reported unverifiable
 * rather than failing in onnxruntime; booleans, strings and every integer type are covered.
 * Pure (no onnxruntime): the runtime wrapper turns the plan into tensors.
 */
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import type { Dim } from '../ir/value.ts';
import type { DType } from '../onnx/dtype.ts';

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

/** Inputs whose values decide shapes or axes: random values would make a different model. */
const STRUCTURAL_SLOTS: Record<string, number[]> = {
  Reshape: [1], Expand: [1], Tile: [1], ConstantOfShape: [0], Range: [0, 1, 2], Slice: [1, 2, 3, 4], Pad: [1],
  Unsqueeze: [1], Squeeze: [1], ReduceSum: [1], ReduceMean: [1], ReduceMax: [1], ReduceMin: [1], Resize: [1, 2, 3],
  Upsample: [1], TopK: [1], OneHot: [1], Split: [1], CumSum: [1], Loop: [0, 1], NonMaxSuppression: [2],
};

/** Index inputs, with the input and axis attribute of the table they index into. */
const INDEX_SLOTS: Record<string, { slot: number; table: number; axisAttr?: string }> = {
  Gather: { slot: 1, table: 0, axisAttr: 'axis' },
  GatherElements: { slot: 1, table: 0, axisAttr: 'axis' },
  GatherND: { slot: 1, table: 0 },
  ScatterElements: { slot: 1, table: 0, axisAttr: 'axis' },
  OneHot: { slot: 0, table: 1 },
};

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
  for (const n of readers) {
    const inDefault = n.domain === '' || n.domain === 'ai.onnx';
    const slots = n.inputs.flatMap((i, at) => (i === name ? [at] : []));
    if (inDefault && slots.some((s) => STRUCTURAL_SLOTS[n.opType]?.includes(s))) {
      return `input '${name}' sets a shape or axes of node ${n.label}; random values cannot stand for it`;
    }
    const idx = inDefault ? INDEX_SLOTS[n.opType] : undefined;
    if (idx && slots.includes(idx.slot)) {
      const d = tableDim(g, n, idx.table, idx.axisAttr);
      bound = Math.min(bound ?? Infinity, d ?? 1); // unknown table size: 0 is valid for any non-empty one
    }
  }
  if (bound !== undefined) return { kind: 'index', bound };
  const range = INTEGER_RANGE[dtype];
  if (range) return { kind: 'integer', min: range[0], max: range[1] };
  return { kind: 'real', min: -1, max: 1 };
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
