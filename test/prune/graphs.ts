/** Tiny graphs for the pruning tests, built inline with seeded weights. */
import type { Batch, Dataset } from '../../src/data/dataset.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { randomFloats } from '../helpers/run-model.ts';

let seed = 100;
/** Seeded weights; a per-call seed keeps every tensor distinct (rows can be told apart). */
export const w = (b: GraphBuilder, name: string, dims: number[]) => b.initializer(name, randomFloats(dims.reduce((a, c) => a * c, 1), seed++), dims);

export function bn(b: GraphBuilder, name: string, x: string, c: number): string {
  const p = (k: string, shift: number) => b.initializer(`${name}.${k}`, randomFloats(c, seed++).map((v) => v * 0.5 + shift), [c]);
  return b.node('BatchNormalization', [x, p('gamma', 1), p('beta', 0), p('mean', 0), p('var', 1.5)], {}, { name })[0]!;
}

export function conv(b: GraphBuilder, name: string, x: string, cin: number, cout: number, opts: { k?: number; group?: number; bias?: boolean; pad?: number } = {}): string {
  const k = opts.k ?? 3;
  const group = opts.group ?? 1;
  const inputs = [x, w(b, `${name}.weight`, [cout, cin / group, k, k])];
  if (opts.bias !== false) inputs.push(w(b, `${name}.bias`, [cout]));
  const pad = opts.pad ?? (k - 1) / 2;
  return b.node('Conv', inputs, { kernel_shape: [k, k], pads: [pad, pad, pad, pad], group }, { name })[0]!;
}

export function gemm(b: GraphBuilder, name: string, x: string, cin: number, cout: number, transB = 1): string {
  const weight = w(b, `${name}.weight`, transB ? [cout, cin] : [cin, cout]);
  return b.node('Gemm', [x, weight, w(b, `${name}.bias`, [cout])], { transB }, { name })[0]!;
}

export const relu = (b: GraphBuilder, x: string, name?: string) => b.node('Relu', [x], {}, name ? { name } : {})[0]!;

/** A deep copy through the codec (pruning changes models in place). */
export async function copyOf(m: Model): Promise<Model> {
  return loadModel(modelToBytes(m));
}

export const input = (dims: number[], s = 7) => ({ x: { data: randomFloats(dims.reduce((a, c) => a * c, 1), s), dims } });

/** conv1 → BN → Relu → MaxPool → conv2 → Relu → Flatten → Gemm: a LeNet in miniature. */
export function miniLenet(): Model {
  const b = new GraphBuilder('mini-lenet');
  const x = b.input('x', 'float32', ['N', 1, 8, 8]);
  let h = conv(b, 'conv1', x, 1, 6);
  h = relu(b, bn(b, 'bn1', h, 6));
  h = b.node('MaxPool', [h], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'pool1' })[0]!;
  h = relu(b, conv(b, 'conv2', h, 6, 8));
  h = b.node('Flatten', [h], { axis: 1 }, { name: 'flatten' })[0]!;
  h = relu(b, gemm(b, 'fc1', h, 8 * 4 * 4, 12));
  const y = gemm(b, 'fc2', h, 12, 10);
  b.output(y, 'float32', ['N', 10]);
  return b.build();
}

/** Slice `i` along `axis` of a row-major tensor, as a plain array. */
export function sliceAt(v: ArrayLike<number>, dims: readonly number[], axis: number, i: number): number[] {
  const inner = dims.slice(axis + 1).reduce((a, c) => a * c, 1);
  const outer = dims.slice(0, axis).reduce((a, c) => a * c, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (let k = 0; k < inner; k++) out.push(v[(o * dims[axis]! + i) * inner + k]!);
  return out;
}

/**
 * Which slices of `before` along `axis` survive in `after`, found by comparing values (the
 * other axes must be unchanged). Independent of the pruning code.
 */
export function survivors(m0: Model, m1: Model, weight0: string, weight1: string, axis: number): number[] {
  const t0 = m0.graph.initializers.get(weight0)!;
  const t1 = m1.graph.initializers.get(weight1)!;
  const v0 = t0.toFloat32();
  const v1 = t1.toFloat32();
  const out: number[] = [];
  for (let j = 0; j < t1.dims[axis]!; j++) {
    const s = sliceAt(v1, t1.dims, axis, j).join();
    const i = [...Array(t0.dims[axis]).keys()].find((k) => !out.includes(k) && sliceAt(v0, t0.dims, axis, k).join() === s);
    if (i === undefined) throw new Error(`slice ${j} of ${weight1} matches no slice of ${weight0}`);
    out.push(i);
  }
  return out;
}

/** Zeroes, in a copy's initializer `name`, the slices along `axis` at `indices`. */
export function zeroSlices(m: Model, name: string, axis: number, indices: readonly number[]): void {
  const t = m.graph.initializers.get(name)!;
  const v = t.toFloat32().slice();
  const inner = t.dims.slice(axis + 1).reduce((a, c) => a * c, 1);
  for (let i = 0; i < v.length; i++) if (indices.includes(Math.floor(i / inner) % t.dims[axis]!)) v[i] = 0;
  t.setTyped(v, t.dims);
}

export const complement = (n: number, kept: readonly number[]) => [...Array(n).keys()].filter((i) => !kept.includes(i));

/** `t` gathered along each axis by the given indices (undefined: all), as a flat array. */
export function gathered(m: Model, name: string, keeps: ReadonlyArray<readonly number[] | undefined>): number[] {
  const t = m.graph.initializers.get(name)!;
  const v = t.toFloat32();
  const axes = t.dims.map((d, a) => keeps[a] ?? [...Array(d).keys()]);
  const strides = t.dims.map((_, a) => t.dims.slice(a + 1).reduce((x, y) => x * y, 1));
  const out: number[] = [];
  const walk = (a: number, at: number) => {
    if (a === t.dims.length) {
      out.push(v[at]!);
      return;
    }
    for (const i of axes[a]!) walk(a + 1, at + i * strides[a]!);
  };
  walk(0, 0);
  return out;
}

export const values = (m: Model, name: string) => Array.from(m.graph.initializers.get(name)!.toFloat32());
export const dimsOf = (m: Model, name: string) => m.graph.initializers.get(name)?.dims;

/** An in-memory data set over float32 samples `x` [n, ...sample] and optional int64 labels. */
export function memoryDataset(x: Float32Array, shape: number[], y?: BigInt64Array): Dataset {
  const n = shape[0]!;
  const per = x.length / n;
  return {
    path: 'memory',
    x: { dtype: 'float32', shape },
    ...(y && { y: { dtype: 'int64' as const, shape: [n] } }),
    length: n,
    async *batches(size: number, opts: { limit?: number } = {}): AsyncGenerator<Batch> {
      const total = Math.min(n, opts.limit ?? n);
      for (let s = 0; s < total; s += size) {
        const k = Math.min(size, total - s);
        yield { start: s, x: x.subarray(s * per, (s + k) * per), shape: [k, ...shape.slice(1)], ...(y && { y: y.subarray(s, s + k) }) };
      }
    },
    async close() {},
  };
}
