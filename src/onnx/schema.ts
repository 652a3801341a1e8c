/**
 * The ONNX messages as field tables (onnx.proto, IR version 10+). The codec is driven by
 * these tables; any field not listed here is carried through byte for byte.
 * Messages the tool never edits (functions, training info, device configurations) are
 * listed as `opaque`: kept as raw bytes rather than decoded.
 */
export type FieldKind =
  | 'varint' // int32, int64, uint64, enum
  | 'float'
  | 'double'
  | 'string'
  | 'bytes'
  | 'message'
  | 'opaque' // a sub-message kept undecoded
  | 'data'; // packed numeric tensor payload, kept as raw bytes (lazy)

export interface FieldDesc {
  readonly no: number;
  readonly name: string;
  readonly kind: FieldKind;
  readonly repeated?: boolean;
  /** Whether onnx.proto declares this repeated scalar `[packed = true]`. */
  readonly packed?: boolean;
  /** Element encoding of a `data` field when written unpacked. */
  readonly element?: 'varint' | 'fixed32' | 'fixed64';
  readonly message?: () => MessageDesc;
}

export interface MessageDesc {
  readonly name: string;
  readonly fields: readonly FieldDesc[];
  readonly byNo: ReadonlyMap<number, FieldDesc>;
}

function message(name: string, fields: FieldDesc[]): MessageDesc {
  const sorted = [...fields].sort((a, b) => a.no - b.no);
  return { name, fields: sorted, byNo: new Map(sorted.map((f) => [f.no, f])) };
}

const str = (no: number, name: string): FieldDesc => ({ no, name, kind: 'string' });
const int = (no: number, name: string): FieldDesc => ({ no, name, kind: 'varint' });
const msg = (no: number, name: string, m: () => MessageDesc, repeated = false): FieldDesc => ({
  no,
  name,
  kind: 'message',
  message: m,
  repeated,
});
const opaque = (no: number, name: string, repeated = false): FieldDesc => ({ no, name, kind: 'opaque', repeated });

export const StringStringEntry = message('StringStringEntryProto', [str(1, 'key'), str(2, 'value')]);
const metadata = (no: number) => msg(no, 'metadata_props', () => StringStringEntry, true);

export const OperatorSetId = message('OperatorSetIdProto', [str(1, 'domain'), int(2, 'version')]);

export const Dimension = message('TensorShapeProto.Dimension', [
  int(1, 'dim_value'),
  str(2, 'dim_param'),
  str(3, 'denotation'),
]);
export const TensorShape = message('TensorShapeProto', [msg(1, 'dim', () => Dimension, true)]);
export const TensorTypeDesc = message('TypeProto.Tensor', [int(1, 'elem_type'), msg(2, 'shape', () => TensorShape)]);
const SequenceType = message('TypeProto.Sequence', [msg(1, 'elem_type', () => TypeDesc)]);
const MapType = message('TypeProto.Map', [int(1, 'key_type'), msg(2, 'value_type', () => TypeDesc)]);
const OptionalType = message('TypeProto.Optional', [msg(1, 'elem_type', () => TypeDesc)]);
export const TypeDesc: MessageDesc = message('TypeProto', [
  msg(1, 'tensor_type', () => TensorTypeDesc),
  msg(4, 'sequence_type', () => SequenceType),
  msg(5, 'map_type', () => MapType),
  msg(9, 'optional_type', () => OptionalType),
  msg(8, 'sparse_tensor_type', () => TensorTypeDesc),
  str(6, 'denotation'),
]);

export const ValueInfo = message('ValueInfoProto', [
  str(1, 'name'),
  msg(2, 'type', () => TypeDesc),
  str(3, 'doc_string'),
  metadata(4),
]);

export const Tensor: MessageDesc = message('TensorProto', [
  { no: 1, name: 'dims', kind: 'varint', repeated: true },
  int(2, 'data_type'),
  opaque(3, 'segment'),
  { no: 4, name: 'float_data', kind: 'data', packed: true, element: 'fixed32' },
  { no: 5, name: 'int32_data', kind: 'data', packed: true, element: 'varint' },
  { no: 6, name: 'string_data', kind: 'bytes', repeated: true },
  { no: 7, name: 'int64_data', kind: 'data', packed: true, element: 'varint' },
  str(8, 'name'),
  str(12, 'doc_string'),
  { no: 9, name: 'raw_data', kind: 'bytes' },
  msg(13, 'external_data', () => StringStringEntry, true),
  int(14, 'data_location'),
  { no: 10, name: 'double_data', kind: 'data', packed: true, element: 'fixed64' },
  { no: 11, name: 'uint64_data', kind: 'data', packed: true, element: 'varint' },
  metadata(16),
]);

export const SparseTensor = message('SparseTensorProto', [
  msg(1, 'values', () => Tensor),
  msg(2, 'indices', () => Tensor),
  { no: 3, name: 'dims', kind: 'varint', repeated: true },
]);

export const Attribute: MessageDesc = message('AttributeProto', [
  str(1, 'name'),
  str(21, 'ref_attr_name'),
  str(13, 'doc_string'),
  int(20, 'type'),
  { no: 2, name: 'f', kind: 'float' },
  int(3, 'i'),
  { no: 4, name: 's', kind: 'bytes' },
  msg(5, 't', () => Tensor),
  msg(6, 'g', () => Graph),
  msg(22, 'sparse_tensor', () => SparseTensor),
  msg(14, 'tp', () => TypeDesc),
  { no: 7, name: 'floats', kind: 'float', repeated: true },
  { no: 8, name: 'ints', kind: 'varint', repeated: true },
  { no: 9, name: 'strings', kind: 'bytes', repeated: true },
  msg(10, 'tensors', () => Tensor, true),
  msg(11, 'graphs', () => Graph, true),
  msg(23, 'sparse_tensors', () => SparseTensor, true),
  msg(15, 'type_protos', () => TypeDesc, true),
]);

export const Node = message('NodeProto', [
  { no: 1, name: 'input', kind: 'string', repeated: true },
  { no: 2, name: 'output', kind: 'string', repeated: true },
  str(3, 'name'),
  str(4, 'op_type'),
  str(7, 'domain'),
  str(8, 'overload'),
  msg(5, 'attribute', () => Attribute, true),
  str(6, 'doc_string'),
  metadata(9),
  opaque(10, 'device_configurations', true),
]);

export const Graph: MessageDesc = message('GraphProto', [
  msg(1, 'node', () => Node, true),
  str(2, 'name'),
  msg(5, 'initializer', () => Tensor, true),
  msg(15, 'sparse_initializer', () => SparseTensor, true),
  str(10, 'doc_string'),
  msg(11, 'input', () => ValueInfo, true),
  msg(12, 'output', () => ValueInfo, true),
  msg(13, 'value_info', () => ValueInfo, true),
  opaque(14, 'quantization_annotation', true),
  metadata(16),
]);

export const Model = message('ModelProto', [
  int(1, 'ir_version'),
  msg(8, 'opset_import', () => OperatorSetId, true),
  str(2, 'producer_name'),
  str(3, 'producer_version'),
  str(4, 'domain'),
  int(5, 'model_version'),
  str(6, 'doc_string'),
  msg(7, 'graph', () => Graph),
  metadata(14),
  opaque(20, 'training_info', true),
  opaque(25, 'functions', true),
  opaque(26, 'configuration', true),
]);
