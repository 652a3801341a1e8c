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
import { InputError } from '../errors.ts';
import { elementCount } from './element-count.ts';
import { readSparse, type SparseParts } from './sparse-read.ts';

export { sparseTensorName } from './sparse-read.ts';
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


/** Dense tensors past this many elements are refused rather than allocated (a typed array cannot hold them). */
const MAX_DENSE = 2 ** 31 - 1;

/** The dense tensor a SparseTensorProto stands for (zeros where no value is given). */
export function fromSparseProto(p: ProtoMessage): Tensor {
  let parts: SparseParts;
  try {
    parts = readSparse(p);
  } catch (err) {
    throw new InputError((err as Error).message, { cause: err });
  }
  const { name, dims, values, positions } = parts;
  const size = elementCount(dims);
  if (size > BigInt(MAX_DENSE)) throw new InputError(`sparse tensor '${name}' of shape [${dims.join(',')}] has ${size} elements, too many to make dense`);
  const Ctor = TYPED_ARRAY[values.dtype as NumericDType];
  const v = values.typed() as unknown as ArrayLike<number | bigint>;
  const out = new Ctor(Number(size)) as TypedArray;
  for (let i = 0; i < positions.length; i++) (out as unknown as Array<number | bigint>)[positions[i]!] = v[i]!;
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
