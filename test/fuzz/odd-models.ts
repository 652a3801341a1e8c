/**
 * Hand-encoded models that are wrong in one specific way each: the cases the mutation fuzz
 * run of issue 14 found exiting 3 (internal error) or 0 where the ONNX checker refuses them.
 * Used by the regression tests (each must exit 2 with one line naming the culprit) and by the
 * fuzzer as seeds for structural mutation. Encoded with test/helpers/proto.ts, independently
 * of the codec under test, so a model can be wrong in ways our own writer never produces.
 */
import { FLOAT, ONNX, concat, f, float32Bytes, node, rawTensor, valueInfo, varint } from '../helpers/proto.ts';

const INT64 = 7;
const STRING = 8;
const BOOL = 9;
/** GraphProto.sparse_initializer and SparseTensorProto's fields (onnx.proto). */
const SPARSE = { graphField: 15, values: 1, indices: 2, dims: 3 } as const;

interface GraphParts {
  nodes?: Uint8Array[];
  initializers?: Uint8Array[];
  inputs?: Uint8Array[];
  outputs?: Uint8Array[];
  extra?: Uint8Array[];
  name?: string;
}

/** A ModelProto with the given graph pieces; ir_version and opset overridable. */
export function oddModel(g: GraphParts, opts: { irVersion?: number | bigint | null; opset?: number } = {}): Uint8Array {
  const ir = opts.irVersion === undefined ? 8 : opts.irVersion;
  return concat(
    ir === null ? new Uint8Array() : f.varint(ONNX.model.ir_version, ir),
    f.len(ONNX.model.producer_name, 'odd-models'),
    f.message(
      ONNX.model.graph,
      ...(g.nodes ?? []).map((n) => f.message(ONNX.graph.node, n)),
      f.len(ONNX.graph.name, g.name ?? 'g'),
      ...(g.initializers ?? []).map((t) => f.message(ONNX.graph.initializer, t)),
      ...(g.extra ?? []),
      ...(g.inputs ?? [valueInfo('x', FLOAT, [1, 3])]).map((v) => f.message(ONNX.graph.input, v)),
      ...(g.outputs ?? [valueInfo('y', FLOAT, [1, 3])]).map((v) => f.message(ONNX.graph.output, v)),
    ),
    f.message(ONNX.model.opset_import, f.len(ONNX.opset.domain, ''), f.varint(ONNX.opset.version, opts.opset ?? 17)),
  );
}

const bias = (raw = float32Bytes([1, 2, 3]), dataType = FLOAT) => rawTensor('b', dataType, [3], raw);
const addBias = () => node('Add', ['x', 'b'], ['y'], 'add_bias');

/** y = x + b: the valid model every case below breaks in one place. */
export function validModel(): Uint8Array {
  return oddModel({ nodes: [addBias()], initializers: [bias()] });
}

function sparse(name: string, dims: Array<number | bigint>, indices: Array<number | bigint>, values: number[]): Uint8Array {
  const valuesTensor = rawTensor(name, FLOAT, [values.length], float32Bytes(values));
  const idx = new Uint8Array(new BigInt64Array(indices.map(BigInt)).buffer);
  const indicesTensor = rawTensor('', INT64, [indices.length], idx);
  return f.message(
    SPARSE.graphField,
    f.message(SPARSE.values, valuesTensor),
    f.message(SPARSE.indices, indicesTensor),
    ...dims.map((d) => f.varint(SPARSE.dims, d)),
  );
}

/** Bytes of a TensorProto field list with dims given as raw varints (any int64). */
function tensorWithDims(name: string, dataType: number, dims: Array<number | bigint>, ...data: Uint8Array[]): Uint8Array {
  return concat(...dims.map((d) => f.varint(ONNX.tensor.dims, d)), f.varint(ONNX.tensor.data_type, dataType), f.len(ONNX.tensor.name, name), ...data);
}

export interface OddCase {
  name: string;
  bytes: () => Uint8Array;
  /** What the one-line message must mention (the tensor, node or field at fault). */
  names: RegExp;
}

const TWO_40 = 2n ** 40n;

export const ODD_CASES: OddCase[] = [
  {
    name: 'sparse index outside its tensor',
    bytes: () => oddModel({ nodes: [addBias()], extra: [sparse('b', [3], [7], [5])] }),
    names: /sparse tensor 'b'.*index 7/,
  },
  {
    name: 'sparse dims [-3]',
    bytes: () => oddModel({ nodes: [addBias()], extra: [sparse('b', [-3], [0], [5])] }),
    names: /sparse tensor 'b'.*-3/,
  },
  {
    name: 'int64 tensor with dims [2^40] and 2 values',
    bytes: () =>
      oddModel({
        nodes: [node('Reshape', ['x', 'shape'], ['y'], 'reshape')],
        initializers: [tensorWithDims('shape', INT64, [TWO_40], f.packed(ONNX.tensor.int64_data, [1, 3]))],
      }),
    names: /tensor 'shape'.*1099511627776/,
  },
  {
    name: 'graph input dim 2^40',
    bytes: () => oddModel({ nodes: [addBias()], initializers: [bias()], inputs: [valueInfoBig('x', FLOAT, [1, TWO_40])] }),
    names: /value 'x'.*1099511627776/,
  },
  {
    name: 'bias of data type STRING',
    bytes: () => oddModel({ nodes: [addBias()], initializers: [bias(float32Bytes([1, 2, 3]), STRING)] }),
    names: /'b'.*string/,
  },
  {
    name: 'float_data shorter than the shape',
    bytes: () =>
      oddModel({ nodes: [addBias()], initializers: [tensorWithDims('b', FLOAT, [3], f.len(ONNX.tensor.float_data, float32Bytes([1, 2])))] }),
    names: /tensor 'b' has 2 float_data values.*needs 3/,
  },
  {
    name: "node input named ''",
    bytes: () => oddModel({ nodes: [node('Add', ['x', ''], ['y'], 'add_empty')], initializers: [bias()] }),
    names: /node 'add_empty'.*input 2/,
  },
  {
    name: 'graph with a cycle',
    bytes: () =>
      oddModel({
        nodes: [node('Add', ['x', 'c'], ['a'], 'cyc_a'), node('Relu', ['a'], ['c'], 'cyc_c'), node('Identity', ['a'], ['y'], 'out')],
      }),
    names: /cycle.*'cyc_(a|c)'/,
  },
  {
    name: 'ir_version 0',
    bytes: () => oddModel({ nodes: [addBias()], initializers: [bias()] }, { irVersion: 0 }),
    names: /ir_version 0/,
  },
  {
    name: 'ir_version -1',
    bytes: () => oddModel({ nodes: [addBias()], initializers: [bias()] }, { irVersion: -1 }),
    names: /ir_version -1/,
  },
  {
    name: 'empty graph name',
    bytes: () => oddModel({ nodes: [addBias()], initializers: [bias()], name: '' }),
    names: /graph.*name/,
  },
  {
    name: 'dims whose product is 2^64 (printed exactly, not rounded)',
    bytes: () =>
      oddModel({ nodes: [addBias()], initializers: [tensorWithDims('b', FLOAT, [2n ** 32n, 2n ** 32n], f.len(ONNX.tensor.raw_data, new Uint8Array(12)))] }),
    names: /tensor 'b' has 12 bytes of raw_data but shape \[4294967296,4294967296\] of float32 needs 73786976294838206464\)$/m,
  },
];

/** A ValueInfoProto whose dims are raw varints (any int64). */
function valueInfoBig(name: string, elemType: number, dims: Array<number | bigint>): Uint8Array {
  const shape = concat(...dims.map((d) => f.message(ONNX.shape.dim, concat(varint(ONNX.dim.dim_value * 8), varint(d)))));
  const tensorType = concat(f.varint(ONNX.tensorType.elem_type, elemType), f.message(ONNX.tensorType.shape, shape));
  return concat(f.len(ONNX.valueInfo.name, name), f.message(ONNX.valueInfo.type, f.message(ONNX.type.tensor_type, tensorType)));
}

/** y = x AND mask with a bool input: valid, and must compress with --no-latency. */
export function boolInputModel(): Uint8Array {
  return oddModel({
    nodes: [node('Not', ['x'], ['y'], 'not')],
    inputs: [valueInfo('x', BOOL, [1, 3])],
    outputs: [valueInfo('y', BOOL, [1, 3])],
  });
}

