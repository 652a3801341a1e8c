/**
 * ModelProto (as decoded by the lossless codec) → IR. Fields the IR manages are moved out
 * of the proto objects; everything else stays in `proto` and is written back untouched.
 */
import { chunkLength, type Chunk } from '../onnx/chunk.ts';
import type { ProtoMessage } from '../onnx/codec.ts';
import { dtypeFromCode, type DType } from '../onnx/dtype.ts';
import { readSparse } from './sparse-read.ts';
import { checkedDims, elementCount, fieldEntries, fieldEntriesFor, rawBytesFor } from './element-count.ts';
import { Graph } from '../ir/graph.ts';
import { Model } from '../ir/model.ts';
import { Node, type AttrType, type Attribute } from '../ir/node.ts';
import { Tensor, type TensorPayload } from '../ir/tensor.ts';
import { ValueInfo, type Dim, type TensorType } from '../ir/value.ts';
import type { Int64 } from '../onnx/wire.ts';

export interface ConvertContext {
  /** Resolves an external-data location to a checked absolute path (throws on unsafe paths). */
  resolveExternal(location: string, tensorName: string): string;
  /** Checks that [offset, offset+length) lies inside the resolved file. */
  checkRange(path: string, offset: number, length: number, tensorName: string): void;
}

/** Detaches the listed fields from a proto message, returning their values. */
function take(p: ProtoMessage, ...names: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of names) {
    out[n] = p[n];
    delete p[n];
  }
  return out;
}

export function modelFromProto(p: ProtoMessage, ctx: ConvertContext): Model {
  const { ir_version, opset_import, graph } = take(p, 'ir_version', 'opset_import', 'graph');
  const opsets = new Map<string, number>();
  for (const o of (opset_import as ProtoMessage[] | undefined) ?? []) {
    opsets.set(domainKey((o.domain as string | undefined) ?? ''), Number(o.version ?? 1));
  }
  if (!graph) throw new Error('the ModelProto has no graph');
  checkVersions(ir_version as Int64 | undefined, opsets);
  const model = new Model(graphFromProto(graph as ProtoMessage, ctx), opsets, (ir_version as Int64 | undefined) ?? 0);
  model.proto = p;
  model.proto.$opsetProtos = opset_import;
  return model;
}

/** The ONNX checker's rules on versions: ir_version 1 or more, opset versions 1 or more, opsets named from IR 3 on. */
function checkVersions(irVersion: Int64 | undefined, opsets: ReadonlyMap<string, number>): void {
  if (irVersion === undefined) throw new Error('no ir_version field');
  if (!(irVersion >= 1)) throw new Error(`ir_version ${irVersion} is invalid (1 or more)`);
  if (irVersion >= 3 && opsets.size === 0) throw new Error(`ir_version ${irVersion} needs an opset_import, and there is none`);
  for (const [domain, version] of opsets) {
    if (!(version >= 1) || !Number.isSafeInteger(version)) throw new Error(`opset_import of domain '${domain || 'ai.onnx'}' has version ${version} (1 or more)`);
  }
}

/** 'ai.onnx' and '' name the same default domain. */
export function domainKey(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

export function graphFromProto(p: ProtoMessage, ctx: ConvertContext): Graph {
  const f = take(p, 'node', 'name', 'initializer', 'sparse_initializer', 'input', 'output', 'value_info');
  const g = new Graph((f.name as string | undefined) ?? '');
  g.proto = p;
  for (const t of (f.initializer as ProtoMessage[] | undefined) ?? []) g.addInitializer(tensorFromProto(t, ctx));
  g.sparseInitializers = (f.sparse_initializer as ProtoMessage[] | undefined) ?? [];
  for (const s of g.sparseInitializers) readSparse(s); // checked now, densified when a pass asks
  g.inputs = ((f.input as ProtoMessage[] | undefined) ?? []).map(valueInfoFromProto);
  g.outputs = ((f.output as ProtoMessage[] | undefined) ?? []).map(valueInfoFromProto);
  g.valueInfo = ((f.value_info as ProtoMessage[] | undefined) ?? []).map(valueInfoFromProto);
  g.nodes = ((f.node as ProtoMessage[] | undefined) ?? []).map((n) => nodeFromProto(n, ctx));
  if (f.name === undefined) g.proto.$noName = true;
  return g;
}

function nodeFromProto(p: ProtoMessage, ctx: ConvertContext): Node {
  const f = take(p, 'op_type', 'input', 'output', 'name', 'domain', 'attribute');
  const attrs = ((f.attribute as ProtoMessage[] | undefined) ?? []).map((a) => attributeFromProto(a, ctx));
  const node = new Node(
    (f.op_type as string | undefined) ?? '',
    (f.input as string[] | undefined) ?? [],
    (f.output as string[] | undefined) ?? [],
    (f.name as string | undefined) ?? '',
    (f.domain as string | undefined) ?? '',
    attrs,
    p,
  );
  // Remember which optional scalar fields were present, so absent ones stay absent.
  node.proto.$present = ['name', 'domain'].filter((k) => f[k] !== undefined);
  return node;
}

export const ATTR_TYPES: Record<number, AttrType> = {
  1: 'float',
  2: 'int',
  3: 'string',
  4: 'tensor',
  5: 'graph',
  6: 'floats',
  7: 'ints',
  8: 'strings',
  9: 'tensors',
  10: 'graphs',
  11: 'sparse_tensor',
  12: 'sparse_tensors',
  13: 'type_proto',
  14: 'type_protos',
};

/** The AttributeProto field holding each attribute type's value. */
export const ATTR_FIELD: Record<AttrType, string> = {
  float: 'f',
  int: 'i',
  string: 's',
  tensor: 't',
  graph: 'g',
  floats: 'floats',
  ints: 'ints',
  strings: 'strings',
  tensors: 'tensors',
  graphs: 'graphs',
  sparse_tensor: 'sparse_tensor',
  sparse_tensors: 'sparse_tensors',
  type_proto: 'tp',
  type_protos: 'type_protos',
};

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function bytesToString(c: Chunk): string | Uint8Array {
  const b = c as Uint8Array;
  try {
    return strictUtf8.decode(b);
  } catch {
    return b;
  }
}

function attributeFromProto(p: ProtoMessage, ctx: ConvertContext): Attribute {
  const name = (p.name as string | undefined) ?? '';
  const type = ATTR_TYPES[Number(p.type ?? 0)];
  if (!type) throw new Error(`attribute '${name}' has unknown type ${String(p.type)}`);
  const field = ATTR_FIELD[type];
  const { [field]: raw } = take(p, 'name', 'type', field);
  let value: unknown = raw;
  if (type === 'string') value = raw === undefined ? '' : bytesToString(raw as Chunk);
  if (type === 'strings') value = ((raw as Chunk[] | undefined) ?? []).map(bytesToString);
  if (type === 'tensor') value = tensorFromProto(raw as ProtoMessage, ctx);
  if (type === 'tensors') value = ((raw as ProtoMessage[] | undefined) ?? []).map((t) => tensorFromProto(t, ctx));
  if (type === 'graph') value = graphFromProto(raw as ProtoMessage, ctx);
  if (type === 'graphs') value = ((raw as ProtoMessage[] | undefined) ?? []).map((g) => graphFromProto(g, ctx));
  if ((type === 'ints' || type === 'floats') && raw === undefined) value = [];
  return { name, type, value, proto: p };
}

const DATA_FIELDS = ['float_data', 'int32_data', 'int64_data', 'double_data', 'uint64_data'] as const;

export function tensorFromProto(p: ProtoMessage, ctx: ConvertContext): Tensor {
  const f = take(p, 'name', 'data_type', 'dims', 'raw_data', 'external_data', 'data_location', 'string_data', ...DATA_FIELDS);
  const name = (f.name as string | undefined) ?? '';
  const code = Number(f.data_type ?? 0);
  const dtype = dtypeFromCode(code);
  if (!dtype) throw new Error(`tensor '${name}' has unknown data type ${code}`);
  const dims = checkedDims((f.dims as Int64[] | undefined) ?? [], `tensor '${name}'`);
  const count = elementCount(dims);
  const shape = `shape [${dims.join(',')}] of ${dtype}`;
  let payload: TensorPayload;
  let external: Tensor['external'];
  if (Number(f.data_location ?? 0) === 1) {
    ({ payload, external } = externalPayload(name, dtype, count, (f.external_data as ProtoMessage[] | undefined) ?? [], ctx));
  } else if (f.raw_data !== undefined) {
    if (dtype === 'string') throw new Error(`tensor '${name}' of type string has raw_data, which cannot hold strings (onnx.proto)`);
    payload = { kind: 'raw', chunk: f.raw_data as Chunk };
    const want = rawBytesFor(dtype, count);
    const got = BigInt(chunkLength(f.raw_data as Chunk));
    if (got !== want) throw new Error(`tensor '${name}' has ${got} bytes of raw_data but ${shape} needs ${want}`);
  } else if (dtype === 'string') {
    const values = (f.string_data as Chunk[] | undefined) ?? [];
    if (BigInt(values.length) !== count) throw new Error(`tensor '${name}' has ${values.length} strings but ${shape} needs ${count}`);
    payload = { kind: 'strings', values };
  } else {
    const field = DATA_FIELDS.find((k) => f[k] !== undefined);
    payload = field ? { kind: 'field', field, chunk: f[field] as Chunk } : { kind: 'raw', chunk: new Uint8Array(0) };
    if (!field && count !== 0n) throw new Error(`tensor '${name}' of shape [${dims.join(',')}] has no data`);
    if (field) {
      const got = fieldEntries(field, f[field] as Chunk);
      const want = fieldEntriesFor(dtype, count);
      if (got !== want) throw new Error(`tensor '${name}' has ${got < 0n ? 'a torn' : got} ${field} value${got === 1n ? '' : 's'} but ${shape} needs ${want}`);
    }
  }
  const t = new Tensor(name, dtype, dims, payload, p);
  t.external = external;
  if (f.external_data !== undefined && !external) p.external_data = f.external_data;
  // An explicit DEFAULT (onnx writes it after inlining external data) stays as it was.
  if (f.data_location !== undefined && !external) p.data_location = f.data_location;
  // An explicitly empty name (onnx's make_tensor('', …) writes one) stays written.
  if (f.name === '') p.$emptyName = true;
  // So does an empty tensor written with no data field at all (an empty raw_data is 2 bytes more).
  if (payload.kind === 'raw' && f.raw_data === undefined && !external) p.$noData = true;
  return t;
}

function externalPayload(name: string, dtype: DType, count: bigint, entries: ProtoMessage[], ctx: ConvertContext) {
  const get = (k: string) => entries.find((e) => e.key === k)?.value as string | undefined;
  const location = get('location');
  if (!location) throw new Error(`tensor '${name}' uses external data but gives no location`);
  const path = ctx.resolveExternal(location, name);
  const offset = Number(get('offset') ?? 0);
  const wantBytes = rawBytesFor(dtype, count);
  const want = Number(wantBytes);
  const length = get('length') === undefined ? want : Number(get('length'));
  if (!Number.isSafeInteger(offset) || offset < 0 || wantBytes > BigInt(Number.MAX_SAFE_INTEGER) || length !== want) {
    throw new Error(`tensor '${name}' external data (offset ${get('offset')}, length ${get('length')}) does not match its shape (${wantBytes} bytes)`);
  }
  ctx.checkRange(path, offset, length, name);
  const extraEntries = entries.filter((e) => !['location', 'offset', 'length'].includes(e.key as string));
  return {
    payload: { kind: 'raw', chunk: { path, offset, length } } as TensorPayload,
    external: { location, extraEntries },
  };
}

function dimFromProto(d: ProtoMessage): Dim {
  // A bigint (past 2^53) stays one, so the size check below prints it exactly.
  if (d.dim_value !== undefined) return typeof d.dim_value === 'bigint' ? (d.dim_value as unknown as number) : Number(d.dim_value);
  return d.dim_param as string | undefined;
}

export function tensorTypeFromProto(type: ProtoMessage | undefined): TensorType | undefined {
  const tt = type?.tensor_type as ProtoMessage | undefined;
  if (!tt) return undefined;
  const shape = tt.shape as ProtoMessage | undefined;
  return {
    dtype: dtypeFromCode(Number(tt.elem_type ?? 0)),
    shape: shape ? ((shape.dim as ProtoMessage[] | undefined) ?? []).map(dimFromProto) : undefined,
  };
}

/** Larger dims are no real model's: an input that size could not even be allocated. */
const MAX_DIM = 2 ** 31 - 1;

function valueInfoFromProto(p: ProtoMessage): ValueInfo {
  const { name, type } = take(p, 'name', 'type');
  const typeProto = type as ProtoMessage | undefined;
  const tensorType = tensorTypeFromProto(typeProto);
  for (const d of tensorType?.shape ?? []) {
    if (typeof d === 'number' && !(d <= MAX_DIM)) throw new Error(`value '${String(name ?? '')}' has dimension ${d}, more than ${MAX_DIM}`);
  }
  return new ValueInfo((name as string | undefined) ?? '', tensorType, p, typeProto);
}
