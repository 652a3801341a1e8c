/** IR → ModelProto for the codec: managed fields are put back beside the kept ones. */
import { chunkLength, type Chunk } from '../onnx/chunk.ts';
import type { ProtoMessage } from '../onnx/codec.ts';
import { dtypeCode } from '../onnx/dtype.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import type { Attribute, Node } from '../ir/node.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { TensorType, ValueInfo } from '../ir/value.ts';
import { ATTR_FIELD, ATTR_TYPES } from './from-proto.ts';

/** Decides, per tensor, whether its bytes go to an external file; returns the entries if so. */
export type PlaceTensor = (t: Tensor, bytes: Chunk) => { location: string; offset: number; length: number } | undefined;

const utf8 = new TextEncoder();
const ATTR_CODES = Object.fromEntries(Object.entries(ATTR_TYPES).map(([code, type]) => [type, Number(code)]));

export function modelToProto(model: Model, place: PlaceTensor): ProtoMessage {
  const { $opsetProtos, ...rest } = model.proto;
  const kept = ($opsetProtos as ProtoMessage[] | undefined) ?? [];
  const opsetImport: ProtoMessage[] = [];
  const seen = new Set<string>();
  for (const o of kept) {
    const domain = (o.domain as string | undefined) ?? '';
    const key = domain === 'ai.onnx' ? '' : domain;
    const version = model.opsets.get(key);
    if (version === undefined || seen.has(key)) continue;
    seen.add(key);
    opsetImport.push({ ...o, version: Number(o.version) === version ? o.version : version });
  }
  for (const [domain, version] of model.opsets) if (!seen.has(domain)) opsetImport.push({ domain, version });
  return { ...rest, ir_version: model.irVersion, opset_import: opsetImport, graph: graphToProto(model.graph, place) };
}

export function graphToProto(g: Graph, place: PlaceTensor): ProtoMessage {
  const { $noName, ...rest } = g.proto;
  const out: ProtoMessage = {
    ...rest,
    node: g.nodes.map((n) => nodeToProto(n, place)),
    initializer: [...g.initializers.values()].map((t) => tensorToProto(t, place)),
    input: g.inputs.map(valueInfoToProto),
    output: g.outputs.map(valueInfoToProto),
  };
  if (g.name || !$noName) out.name = g.name;
  if (g.sparseInitializers.length) out.sparse_initializer = g.sparseInitializers;
  if (g.valueInfo.length) out.value_info = g.valueInfo.map(valueInfoToProto);
  return out;
}

function nodeToProto(n: Node, place: PlaceTensor): ProtoMessage {
  const { $present, ...rest } = n.proto;
  const present = new Set(($present as string[] | undefined) ?? []);
  const out: ProtoMessage = { ...rest, input: n.inputs, output: n.outputs, op_type: n.opType };
  if (n.name || present.has('name')) out.name = n.name;
  if (n.domain || present.has('domain')) out.domain = n.domain;
  if (n.attributes.length) out.attribute = n.attributes.map((a) => attributeToProto(a, place));
  return out;
}

function attributeToProto(a: Attribute, place: PlaceTensor): ProtoMessage {
  let value = a.value;
  if (a.type === 'string') value = typeof value === 'string' ? utf8.encode(value) : value;
  if (a.type === 'strings') value = (value as Array<string | Uint8Array>).map((s) => (typeof s === 'string' ? utf8.encode(s) : s));
  if (a.type === 'tensor') value = tensorToProto(value as Tensor, place);
  if (a.type === 'tensors') value = (value as Tensor[]).map((t) => tensorToProto(t, place));
  if (a.type === 'graph') value = graphToProto(value as Graph, place);
  if (a.type === 'graphs') value = (value as Graph[]).map((g) => graphToProto(g, place));
  return { ...a.proto, name: a.name, type: ATTR_CODES[a.type], [ATTR_FIELD[a.type]]: value };
}

export function tensorToProto(t: Tensor, place: PlaceTensor): ProtoMessage {
  const { $emptyName, $noData, ...rest } = t.proto;
  const out: ProtoMessage = { ...rest, dims: t.dims, data_type: dtypeCode(t.dtype) };
  if (t.name || $emptyName) out.name = t.name;
  const p = t.payload;
  if (p.kind === 'strings') {
    out.string_data = p.values;
    return out;
  }
  if (p.kind === 'field') {
    out[p.field] = p.chunk;
    return out;
  }
  const ext = place(t, p.chunk);
  if (!ext) {
    if (!($noData && chunkLength(p.chunk) === 0)) out.raw_data = p.chunk;
    return out;
  }
  out.data_location = 1;
  out.external_data = [
    { key: 'location', value: ext.location },
    { key: 'offset', value: String(ext.offset) },
    { key: 'length', value: String(ext.length) },
    ...(t.external?.extraEntries ?? []),
  ];
  return out;
}

function valueInfoToProto(v: ValueInfo): ProtoMessage {
  const out: ProtoMessage = { ...v.proto, name: v.name };
  const type = v.unchangedTypeProto() ?? (v.type ? tensorTypeToProto(v.type) : undefined);
  if (type) out.type = type;
  return out;
}

function tensorTypeToProto(t: TensorType): ProtoMessage {
  const tensorType: ProtoMessage = {};
  if (t.dtype) tensorType.elem_type = dtypeCode(t.dtype);
  if (t.shape) {
    tensorType.shape = {
      dim: t.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : d === undefined ? {} : { dim_param: d })),
    };
  }
  return { tensor_type: tensorType };
}
