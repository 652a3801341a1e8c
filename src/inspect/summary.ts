/**
 * What `inspect` reports, as data: opsets, op histogram, parameters and bytes per op type
 * and per layer, dtypes, sparsity and external data. Weights are initializers (dense and
 * sparse) and tensors held by Constant nodes (how paddle2onnx and PyTorch If branches store
 * them), in every graph and subgraph; a weight is attributed to the first node that reads it
 * (its "layer").
 */
import { isFileSlice } from '../onnx/chunk.ts';
import { fromSparseProto } from '../io/sparse.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import { formatShape } from '../ir/value.ts';
import { quantizedNodes } from '../ops/registry.ts';
import { constantNodeTensor } from '../ops/constant.ts';

export interface OpTypeRow {
  op: string;
  count: number;
  params: number;
  bytes: number;
}

export interface LayerRow {
  node: string;
  op: string;
  params: number;
  bytes: number;
  zeros: number;
  sparsity: number;
}

export interface ModelSummary {
  irVersion: number;
  producer: string;
  opsets: Record<string, number>;
  inputs: { name: string; dtype: string; shape: string }[];
  outputs: { name: string; dtype: string; shape: string }[];
  nodes: number;
  subgraphs: number;
  params: number;
  weightBytes: number;
  zeros: number;
  /** Fraction of zero-valued parameters (all numeric initializers). */
  sparsity: number;
  dtypes: Record<string, { tensors: number; params: number; bytes: number }>;
  opTypes: OpTypeRow[];
  /** Op types that show the model is quantized already (Q/DQ, integer kernels, MatMulNBits), with counts. */
  quantized: { op: string; count: number }[];
  /** Layers by parameter count, largest first. */
  layers: LayerRow[];
  externalData: { files: string[]; tensors: number; bytes: number };
}


const opKey = (n: Node) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType);

export function summarizeModel(model: Model): ModelSummary {
  const opTypes = new Map<string, OpTypeRow>();
  const layers = new Map<Node, LayerRow>();
  const dtypes: ModelSummary['dtypes'] = {};
  const ext = { files: new Set<string>(), tensors: 0, bytes: 0 };
  let nodes = 0;
  let subgraphs = -1;
  let params = 0;
  let weightBytes = 0;
  let zeros = 0;
  for (const g of model.graph.walk()) {
    subgraphs++;
    nodes += g.nodes.length;
    for (const n of g.nodes) {
      const row = opTypes.get(opKey(n)) ?? { op: opKey(n), count: 0, params: 0, bytes: 0 };
      row.count++;
      opTypes.set(row.op, row);
    }
    const firstReader = firstReaders(g);
    // Sparse initializers count as the dense tensors they stand for.
    const dense = g.sparseInitializers.map(fromSparseProto);
    const named = [...g.initializers.values(), ...dense].map((t) => [t.name, t] as const);
    for (const n of g.nodes) {
      const t = constantNodeTensor(n);
      if (t) named.push([n.outputs[0]!, t]);
    }
    for (const [name, t] of named) {
      const z = t.zeroCount();
      params += t.size;
      weightBytes += t.byteLength;
      zeros += z;
      const d = (dtypes[t.dtype] ??= { tensors: 0, params: 0, bytes: 0 });
      d.tensors++;
      d.params += t.size;
      d.bytes += t.byteLength;
      if (t.external && t.payload.kind === 'raw' && isFileSlice(t.payload.chunk)) {
        ext.files.add(t.external.location);
        ext.tensors++;
        ext.bytes += t.byteLength;
      }
      const reader = firstReader.get(name);
      if (!reader) continue;
      const op = opTypes.get(opKey(reader))!;
      op.params += t.size;
      op.bytes += t.byteLength;
      const layer = layers.get(reader) ?? { node: reader.name || reader.outputs[0], op: opKey(reader), params: 0, bytes: 0, zeros: 0, sparsity: 0 };
      layer.params += t.size;
      layer.bytes += t.byteLength;
      layer.zeros += z;
      layer.sparsity = layer.params ? layer.zeros / layer.params : 0;
      layers.set(reader, layer);
    }
  }
  const io = (v: { name: string; type?: { dtype?: string; shape?: Parameters<typeof formatShape>[0] } }) => ({
    name: v.name,
    dtype: v.type?.dtype ?? '?',
    shape: formatShape(v.type?.shape),
  });
  return {
    irVersion: Number(model.irVersion),
    producer: [model.proto.producer_name, model.proto.producer_version].filter(Boolean).join(' '),
    opsets: Object.fromEntries([...model.opsets].map(([d, v]) => [d || 'ai.onnx', v])),
    inputs: model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name)).map(io),
    outputs: model.graph.outputs.map(io),
    nodes,
    subgraphs,
    params,
    weightBytes,
    zeros,
    sparsity: params ? zeros / params : 0,
    dtypes,
    opTypes: [...opTypes.values()].sort((a, b) => b.params - a.params || b.count - a.count),
    quantized: countByOp(quantizedNodes(model)),
    layers: [...layers.values()].sort((a, b) => b.params - a.params),
    externalData: { files: [...ext.files], tensors: ext.tensors, bytes: ext.bytes },
  };
}

function firstReaders(g: Graph): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const n of g.nodes) for (const i of n.inputs) if (!out.has(i)) out.set(i, n);
  return out;
}

function countByOp(nodes: readonly Node[]): { op: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const n of nodes) counts.set(opKey(n), (counts.get(opKey(n)) ?? 0) + 1);
  return [...counts].map(([op, count]) => ({ op, count }));
}
