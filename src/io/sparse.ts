/**
 * ONNX sparse tensors (SparseTensorProto, a graph's `sparse_initializer`): a values tensor
 * named after the initializer, int64 indices and the dense shape. The graph keeps them as
 * proto messages (`Graph.sparseInitializers`); these helpers build one from a dense tensor
 * and turn one back into a dense tensor. Indices are linearized, shape [NNZ], ascending —
 * the onnx checker requires int64; [NNZ, rank] coordinates are read as well.
 */
import type { ProtoMessage } from '../onnx/codec.ts';
import { TYPED_ARRAY, type NumericDType, type TypedArray } from '../onnx/dtype.ts';
import type { Graph } from '../ir/graph.ts';
import { Tensor } from '../ir/tensor.ts';
import { tensorFromProto } from './from-proto.ts';
import { tensorToProto } from './to-proto.ts';

/** Positions of the non-zero values (0n and -0 count as zero). */
export function nonZeroIndices(values: TypedArray): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] != 0) out.push(i); // != so 0n counts too
  return out;
}

/** A SparseTensorProto holding the non-zero values of `t` (its name, dtype and shape). */
export function toSparseProto(t: Tensor): ProtoMessage {
  const dense = t.typed();
  const idx = nonZeroIndices(dense);
  const Ctor = TYPED_ARRAY[t.dtype as NumericDType];
  const values = new Ctor(idx.length) as TypedArray;
  idx.forEach((at, i) => ((values as unknown as Array<number | bigint>)[i] = dense[at]!));
  const indices = BigInt64Array.from(idx, BigInt);
  const noPlace = () => undefined;
  const valuesTensor = Tensor.fromTyped(t.name, values, [idx.length]);
  valuesTensor.dtype = t.dtype; // float16 values live in a Uint16Array
  return {
    values: tensorToProto(valuesTensor, noPlace),
    indices: tensorToProto(Tensor.fromTyped('', indices, [idx.length]), noPlace),
    dims: [...t.dims],
  };
}

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

/** The dense tensor a SparseTensorProto stands for (zeros where no value is given). */
export function fromSparseProto(p: ProtoMessage): Tensor {
  const name = sparseTensorName(p);
  const dims = ((p.dims as Array<number | bigint> | undefined) ?? []).map(Number);
  // tensorFromProto takes fields out of the message it reads: give it copies.
  const values = tensorFromProto({ ...(p.values as ProtoMessage) }, inlineOnly);
  const indices = tensorFromProto({ ...(p.indices as ProtoMessage) }, inlineOnly);
  const Ctor = TYPED_ARRAY[values.dtype as NumericDType];
  if (!Ctor) throw new Error(`sparse tensor '${name}' has values of type ${values.dtype}`);
  const size = dims.reduce((a, b) => a * b, 1);
  const v = values.typed() as unknown as ArrayLike<number | bigint>;
  const raw = Array.from(indices.typed() as unknown as ArrayLike<number | bigint>, Number);
  const nnz = v.length;
  const linear = new Array<number>(nnz);
  if (raw.length === nnz) for (let i = 0; i < nnz; i++) linear[i] = raw[i]!;
  else if (raw.length === nnz * dims.length) {
    for (let i = 0; i < nnz; i++) {
      let at = 0;
      for (let d = 0; d < dims.length; d++) at = at * dims[d]! + raw[i * dims.length + d]!;
      linear[i] = at;
    }
  } else throw new Error(`sparse tensor '${name}' has ${raw.length} indices for ${nnz} values of rank ${dims.length}`);
  const out = new Ctor(size) as TypedArray;
  for (let i = 0; i < nnz; i++) {
    const at = linear[i]!;
    if (!(at >= 0 && at < size)) throw new Error(`sparse tensor '${name}' has index ${at} outside its ${size} elements`);
    (out as unknown as Array<number | bigint>)[at] = v[i]!;
  }
  const dense = Tensor.fromTyped(name, out, dims);
  dense.dtype = values.dtype;
  return dense;
}

/** Turns every sparse initializer of the graph (and its subgraphs) into a dense one; returns how many. */
export function densifySparseInitializers(root: Graph): number {
  let n = 0;
  for (const g of root.walk()) {
    for (const p of g.sparseInitializers) {
      g.addInitializer(fromSparseProto(p));
      n++;
    }
    g.sparseInitializers = [];
  }
  return n;
}
