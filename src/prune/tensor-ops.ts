/**
 * Small operations on weight tensors of any numeric dtype, done on the raw typed values so
 * float16 weights stay float16: zero positions, gather slices along an axis, magnitudes.
 * Values are always copied before they change: a loaded tensor may be a view of the file.
 */
import type { Graph } from '../ir/graph.ts';
import type { Node } from '../ir/node.ts';
import { Tensor } from '../ir/tensor.ts';
import type { TypedArray } from '../onnx/dtype.ts';

/** |w| as float32 (float16 weights decoded). */
export function magnitudes(t: Tensor): Float32Array {
  const v = t.toFloat32();
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.abs(v[i]!);
  return out;
}

/** Sets `mask[i] === 1` positions to zero, on a copy of the values. Returns how many changed. */
export function zeroMasked(t: Tensor, mask: Uint8Array): number {
  const v = t.typed().slice() as TypedArray;
  let changed = 0;
  const zero = (v instanceof BigInt64Array || v instanceof BigUint64Array ? 0n : 0) as never;
  for (let i = 0; i < v.length; i++) {
    if (mask[i] && v[i] != 0) {
      (v as unknown as unknown[])[i] = zero;
      changed++;
    }
  }
  if (changed) setValues(t, v, t.dims);
  return changed;
}

/** Replaces the values, keeping the dtype (float16 values live in a Uint16Array). */
export function setValues(t: Tensor, values: TypedArray, dims: readonly number[]): void {
  const dtype = t.dtype;
  t.setTyped(values, dims);
  t.dtype = dtype;
}

/** A new tensor with `like`'s dtype. */
export function tensorLike(name: string, like: Tensor, values: TypedArray, dims: readonly number[]): Tensor {
  const t = Tensor.fromTyped(name, values, dims);
  t.dtype = like.dtype;
  return t;
}

/** The values of `t` keeping only indices `keep` (ascending) along `axis`. */
export function gatherAxis(values: TypedArray, dims: readonly number[], axis: number, keep: readonly number[]): TypedArray {
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const size = dims[axis]!;
  const Ctor = values.constructor as new (n: number) => TypedArray;
  const out = new Ctor(outer * keep.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of keep) {
      const from = (o * size + k) * inner;
      out.set(values.subarray(from, from + inner) as never, at);
      at += inner;
    }
  }
  return out;
}

/**
 * Keeps indices `keep` along `axis` of the initializer `node.inputs[input]`. A tensor other
 * nodes read too is copied under a fresh name (theirs stays as it was).
 */
export function sliceInput(g: Graph, node: Node, input: number, axis: number, keep: readonly number[], readers: ReadonlyMap<string, readonly Node[]>): void {
  const name = node.inputs[input]!;
  const t = g.initializers.get(name);
  if (!t) throw new Error(`node ${node.label}: input ${input} '${name}' is not an initializer`);
  if (keep.length === t.dims[axis]) return;
  const dims = [...t.dims];
  dims[axis] = keep.length;
  setInput(g, node, input, gatherAxis(t.typed(), t.dims, axis, keep), dims, readers);
}

/** Replaces the initializer at `node.inputs[input]` by `values` (a fresh copy if others read it). */
export function setInput(g: Graph, node: Node, input: number, values: TypedArray, dims: number[], readers: ReadonlyMap<string, readonly Node[]>): void {
  const name = node.inputs[input]!;
  const t = g.initializers.get(name)!;
  if ((readers.get(name)?.length ?? 0) <= 1 && !g.isGraphOutput(name)) {
    setValues(t, values, dims);
    return;
  }
  const fresh = freshName(g, `${name}_pruned`);
  g.addInitializer(tensorLike(fresh, t, values, dims));
  node.inputs[input] = fresh;
}

export function freshName(g: Graph, base: string): string {
  const names = g.allNames();
  let name = base;
  for (let i = 1; names.has(name); i++) name = `${base}${i}`;
  return name;
}
