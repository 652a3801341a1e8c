/**
 * Reading a SparseTensorProto without densifying it, with every check the loader runs on it.
 * Apart from sparse.ts so that the loader (from-proto.ts) can use it without importing the
 * writer side (to-proto.ts), which imports the loader.
 */
import type { ProtoMessage } from '../onnx/codec.ts';
import { TYPED_ARRAY, type NumericDType } from '../onnx/dtype.ts';
import type { Int64 } from '../onnx/wire.ts';
import type { Tensor } from '../ir/tensor.ts';
import { checkedDims, elementCount } from './element-count.ts';
import { tensorFromProto } from './from-proto.ts';

/** The initializer name a SparseTensorProto defines (its values' name). */
export function sparseTensorName(p: ProtoMessage): string {
  return ((p.values as ProtoMessage | undefined)?.name as string | undefined) ?? '';
}

const inlineOnly = {
  resolveExternal(location: string, tensor: string): string {
    throw new Error(`sparse tensor '${tensor}' keeps its data in '${location}'; external data in sparse tensors is not supported`);
  },
  checkRange() {},
};

export interface SparseParts {
  name: string;
  dims: number[];
  values: Tensor;
  /** Linear positions of the values in the dense tensor, each checked to lie inside it. */
  positions: number[];
}

/**
 * Reads and checks a SparseTensorProto without densifying it: dims, values (1-D, counts
 * matching), int64 indices (linear [NNZ] or coordinates [NNZ, rank]), every index inside the
 * dense shape. Throws a plain Error (the loader names the file); called at load for every
 * sparse initializer, so nothing later meets a broken one.
 */
export function readSparse(p: ProtoMessage): SparseParts {
  const name = sparseTensorName(p);
  const dims = checkedDims((p.dims as Int64[] | undefined) ?? [], `sparse tensor '${name}'`);
  if (!p.values || !p.indices) throw new Error(`sparse tensor '${name}' lacks its ${p.values ? 'indices' : 'values'}`);
  // tensorFromProto takes fields out of the message it reads: give it copies.
  const values = tensorFromProto({ ...(p.values as ProtoMessage) }, inlineOnly);
  const indices = tensorFromProto({ ...(p.indices as ProtoMessage) }, inlineOnly);
  if (!TYPED_ARRAY[values.dtype as NumericDType]) throw new Error(`sparse tensor '${name}' has values of type ${values.dtype}`);
  if (values.dims.length !== 1) throw new Error(`sparse tensor '${name}' has values of shape [${values.dims.join(',')}]; they must be 1-D`);
  if (indices.dtype !== 'int64') throw new Error(`sparse tensor '${name}' has indices of type ${indices.dtype}; they must be int64`);
  const size = elementCount(dims);
  const nnz = values.size;
  const raw = indices.typed() as BigInt64Array;
  const positions = new Array<number>(nnz);
  if (raw.length === nnz) {
    for (let i = 0; i < nnz; i++) {
      if (!(raw[i]! >= 0n && raw[i]! < size)) throw new Error(`sparse tensor '${name}' has index ${raw[i]} outside its ${size} elements`);
      positions[i] = Number(raw[i]);
    }
  } else if (dims.length > 0 && raw.length === nnz * dims.length) {
    for (let i = 0; i < nnz; i++) {
      let at = 0n;
      for (let d = 0; d < dims.length; d++) {
        const c = raw[i * dims.length + d]!;
        if (!(c >= 0n && c < BigInt(dims[d]!))) throw new Error(`sparse tensor '${name}' has index ${c} outside dimension ${d} of size ${dims[d]}`);
        at = at * BigInt(dims[d]!) + c;
      }
      positions[i] = Number(at);
    }
  } else throw new Error(`sparse tensor '${name}' has ${raw.length} indices for ${nnz} values of rank ${dims.length}`);
  return { name, dims, values, positions };
}

