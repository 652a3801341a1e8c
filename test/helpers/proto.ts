/**
 * Test helper: hand-encodes protobuf bytes, independently of the codec under test, so tests
 * can build ONNX messages carrying unknown fields, odd packings or broken external data.
 *
 *   model(f.varint(1, 8), f.message(7, graph(...)), f.varint(99, 5))
 *
 * Every helper returns the encoded bytes of one field; messages are plain concatenations.
 */

export const WT = { varint: 0, fixed64: 1, len: 2, fixed32: 5 } as const;

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** A varint; negative values are sign-extended to 64 bits (10 bytes), as protobuf does. */
export function varint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

export function tag(no: number, wireType: number): Uint8Array {
  return varint(BigInt(no) * 8n + BigInt(wireType));
}

const utf8 = new TextEncoder();

export const f = {
  varint: (no: number, value: number | bigint) => concat(tag(no, WT.varint), varint(value)),
  /** LEN field: raw bytes, a string (UTF-8) or an already-encoded sub-message. */
  len: (no: number, payload: Uint8Array | string) => {
    const b = typeof payload === 'string' ? utf8.encode(payload) : payload;
    return concat(tag(no, WT.len), varint(b.byteLength), b);
  },
  /** A sub-message: the concatenation of its fields. */
  message: (no: number, ...fields: Uint8Array[]) => f.len(no, concat(...fields)),
  float: (no: number, value: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return concat(tag(no, WT.fixed32), b);
  },
  fixed32: (no: number, value: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    return concat(tag(no, WT.fixed32), b);
  },
  fixed64: (no: number, value: bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    return concat(tag(no, WT.fixed64), b);
  },
  /** A packed repeated varint field (one LEN run). */
  packed: (no: number, values: Array<number | bigint>) => f.len(no, concat(...values.map(varint))),
  /** An unpacked repeated varint field (one tag per element). */
  unpacked: (no: number, values: Array<number | bigint>) => concat(...values.map((v) => f.varint(no, v))),
};

/**
 * Unknown fields of every wire type, with numbers no ONNX message uses: varint 99 (a value
 * above 2^32), LEN 1000, fixed32 1001, fixed64 1002, and a negative varint 536870911 (the
 * largest field number).
 */
export function unknownFields(seed = 1): Uint8Array {
  return concat(
    f.varint(99, 2n ** 40n + BigInt(seed)),
    f.len(1000, `unknown payload ${seed}`),
    f.fixed32(1001, 0xdeadbeef + seed),
    f.fixed64(1002, 0x0123456789abcdefn + BigInt(seed)),
    f.varint(536870911, -seed),
  );
}

/** ONNX field numbers used by the hand-built models below (from onnx.proto). */
export const ONNX = {
  model: { ir_version: 1, producer_name: 2, graph: 7, opset_import: 8, metadata_props: 14, training_info: 20, functions: 25 },
  opset: { domain: 1, version: 2 },
  graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12, value_info: 13 },
  node: { input: 1, output: 2, name: 3, op_type: 4, attribute: 5, doc_string: 6, domain: 7 },
  attr: { name: 1, f: 2, i: 3, s: 4, t: 5, g: 6, floats: 7, ints: 8, strings: 9, type: 20 },
  tensor: { dims: 1, data_type: 2, float_data: 4, int32_data: 5, int64_data: 7, name: 8, raw_data: 9, external_data: 13, data_location: 14 },
  entry: { key: 1, value: 2 },
  valueInfo: { name: 1, type: 2 },
  type: { tensor_type: 1 },
  tensorType: { elem_type: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { dim_value: 1, dim_param: 2 },
} as const;

/** AttributeProto.AttributeType codes. */
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** A float tensor ValueInfoProto with fixed dims. */
export function valueInfo(name: string, elemType: number, dims: number[]): Uint8Array {
  const shape = concat(...dims.map((d) => f.message(ONNX.shape.dim, f.varint(ONNX.dim.dim_value, d))));
  const tensorType = concat(f.varint(ONNX.tensorType.elem_type, elemType), f.message(ONNX.tensorType.shape, shape));
  return concat(f.len(ONNX.valueInfo.name, name), f.message(ONNX.valueInfo.type, f.message(ONNX.type.tensor_type, tensorType)));
}

/** A TensorProto with raw_data (extra fields appended as given). */
export function rawTensor(name: string, dataType: number, dims: number[], raw: Uint8Array, ...extra: Uint8Array[]): Uint8Array {
  return concat(
    f.unpacked(ONNX.tensor.dims, dims),
    f.varint(ONNX.tensor.data_type, dataType),
    f.len(ONNX.tensor.name, name),
    f.len(ONNX.tensor.raw_data, raw),
    ...extra,
  );
}

/** A TensorProto whose data lives in an external file. */
export function externalTensor(name: string, dataType: number, dims: number[], location: string, offset: number, length: number): Uint8Array {
  const entry = (k: string, v: string) => f.message(ONNX.tensor.external_data, f.len(ONNX.entry.key, k), f.len(ONNX.entry.value, v));
  return concat(
    f.unpacked(ONNX.tensor.dims, dims),
    f.varint(ONNX.tensor.data_type, dataType),
    f.len(ONNX.tensor.name, name),
    entry('location', location),
    entry('offset', String(offset)),
    entry('length', String(length)),
    f.varint(ONNX.tensor.data_location, 1),
  );
}

export function node(opType: string, inputs: string[], outputs: string[], name: string, ...extra: Uint8Array[]): Uint8Array {
  return concat(
    ...inputs.map((i) => f.len(ONNX.node.input, i)),
    ...outputs.map((o) => f.len(ONNX.node.output, o)),
    f.len(ONNX.node.name, name),
    f.len(ONNX.node.op_type, opType),
    ...extra,
  );
}

/** A ModelProto: ir_version 8, opset 17 (default domain), the given graph fields, then extra model fields. */
export function model(graphFields: Uint8Array[], ...extra: Uint8Array[]): Uint8Array {
  return concat(
    f.varint(ONNX.model.ir_version, 8),
    f.len(ONNX.model.producer_name, 'hand-encoded'),
    f.message(ONNX.model.graph, ...graphFields),
    f.message(ONNX.model.opset_import, f.len(ONNX.opset.domain, ''), f.varint(ONNX.opset.version, 17)),
    ...extra,
  );
}

export const FLOAT = 1;

export function float32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export type Level = 'model' | 'graph' | 'node' | 'tensor' | 'attribute' | 'valueInfo' | 'opset' | 'entry';

/**
 * y = LeakyRelu(x, alpha=0.5) + b, with b = [1, 2, 3] and metadata k=v; `at` appends extra
 * fields (e.g. `unknownFields()`) inside the message of each level.
 */
export function handModel(at: Partial<Record<Level, Uint8Array>> = {}): Uint8Array {
  const attr = concat(f.len(ONNX.attr.name, 'alpha'), f.float(ONNX.attr.f, 0.5), f.varint(ONNX.attr.type, ATTR.FLOAT), at.attribute ?? new Uint8Array());
  const graph = [
    f.message(ONNX.graph.node, node('LeakyRelu', ['x'], ['h'], 'leaky', f.message(ONNX.node.attribute, attr), at.node ?? new Uint8Array())),
    f.message(ONNX.graph.node, node('Add', ['h', 'b'], ['y'], 'add')),
    f.len(ONNX.graph.name, 'g'),
    f.message(ONNX.graph.initializer, rawTensor('b', FLOAT, [3], float32Bytes([1, 2, 3]), at.tensor ?? new Uint8Array())),
    ...(at.graph ? [at.graph] : []),
    f.message(ONNX.graph.input, valueInfo('x', FLOAT, [3]), at.valueInfo ?? new Uint8Array()),
    f.message(ONNX.graph.output, valueInfo('y', FLOAT, [3])),
  ];
  const meta = f.message(ONNX.model.metadata_props, f.len(ONNX.entry.key, 'k'), f.len(ONNX.entry.value, 'v'), at.entry ?? new Uint8Array());
  return concat(
    f.varint(ONNX.model.ir_version, 8),
    at.model ?? new Uint8Array(),
    f.len(ONNX.model.producer_name, 'hand-encoded'),
    f.message(ONNX.model.graph, ...graph),
    f.message(ONNX.model.opset_import, f.len(ONNX.opset.domain, ''), f.varint(ONNX.opset.version, 17), at.opset ?? new Uint8Array()),
    meta,
  );
}
