import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { densifySparseInitializers, fromSparseProto, toSparseProto } from '../../src/io/sparse.ts';
import { toHalfBits } from '../../src/math/float16.ts';
import { tensorToProto } from '../../src/io/to-proto.ts';
import { pruneModel } from '../../src/prune/prune.ts';
import { maxOutputDiff, randomFloats, runModel } from '../helpers/run-model.ts';
import { copyOf, input, miniLenet } from './graphs.ts';

const sparseVector = (n: number, every: number) => Float32Array.from(randomFloats(n, 9), (v, i) => (i % every === 0 ? v : 0));

function twoWeights(): Model {
  const b = new GraphBuilder('two');
  const x = b.input('x', 'float32', ['N', 64]);
  b.initializer('sparse_w', sparseVector(64 * 32, 10), [64, 32]); // 90 % zeros
  b.initializer('dense_w', randomFloats(32 * 8, 4).map((v, i) => (i % 10 === 0 ? 0 : v)), [32, 8]); // 10 % zeros
  const [h] = b.node('MatMul', [x, 'sparse_w']);
  b.node('MatMul', [h!, 'dense_w'], {}, { outputs: ['out'] });
  b.output('out', 'float32', ['N', 8]);
  return b.build();
}

describe('sparse initializers', () => {
  it('sparse io: dense → sparse → dense round trip for float32, float16 and int64', () => {
    const cases = [
      Tensor.fromTyped('f', sparseVector(60, 7), [3, 4, 5]),
      Tensor.fromTyped('i', BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i % 3 === 0 ? i : 0)), [12]),
    ];
    const h = Tensor.fromTyped('h', Uint16Array.from(sparseVector(20, 3), (v) => toHalfBits(v)), [4, 5]);
    h.dtype = 'float16';
    for (const t of [...cases, h]) {
      const p = toSparseProto(t);
      const back = fromSparseProto(p);
      expect(back.dtype).toBe(t.dtype);
      expect(back.dims).toEqual(t.dims);
      expect(Array.from(back.typed() as ArrayLike<number>)).toEqual(Array.from(t.typed() as ArrayLike<number>));
      expect((p.indices as { data_type: number }).data_type).toBe(7); // int64, as the onnx checker requires
    }
  });

  it('sparse io: [NNZ, rank] coordinate indices are read as well', () => {
    const values = Tensor.fromTyped('c', Float32Array.of(5, 7), [2]);
    const indices = Tensor.fromTyped('', BigInt64Array.of(0n, 1n, 1n, 2n), [2, 2]);
    const p = { values: tensorToProto(values, () => undefined), indices: tensorToProto(indices, () => undefined), dims: [2, 3] };
    expect(Array.from(fromSparseProto(p).toFloat32())).toEqual([0, 5, 0, 0, 0, 7]);
  });

  it('prune: storage auto writes the 90 %-sparse weight as sparse_initializer, the other dense; onnxruntime loads it', async () => {
    const m0 = twoWeights();
    const m1 = await copyOf(m0);
    const r = await pruneModel(m1, { sparsity: 0.001, storage: 'auto' });
    const byName = Object.fromEntries(r.storage.map((s) => [s.tensor, s]));
    expect(byName.sparse_w?.chosen).toBe('sparse');
    expect(byName.sparse_w!.sparseBytes).toBeLessThan(byName.sparse_w!.denseBytes / 2);
    expect(byName.dense_w?.chosen).toBe('dense');
    expect(m1.graph.sparseInitializers).toHaveLength(1);
    expect(m1.graph.initializers.has('sparse_w')).toBe(false);
    const bytes = modelToBytes(m1);
    expect(bytes.length).toBeLessThan(modelToBytes(m0).length * 0.5);
    // Loaded back, the sparse initializer is still there, and outputs match the dense pruned model.
    const reloaded = await loadModel(bytes);
    expect(reloaded.graph.sparseInitializers).toHaveLength(1);
    const dense = await copyOf(reloaded);
    expect(densifySparseInitializers(dense.graph)).toBe(1);
    expect(await maxOutputDiff(bytes, dense, { x: { data: randomFloats(128, 2), dims: [2, 64] } })).toBe(0);
  });

  it('prune: storage gzip decides by compressed size', async () => {
    const m = twoWeights();
    const r = await pruneModel(m, { sparsity: 0.001, storage: 'gzip' });
    for (const s of r.storage) {
      expect(s.denseGzip).toBeGreaterThan(0);
      expect(s.chosen).toBe(s.sparseGzip! < s.denseGzip! ? 'sparse' : 'dense');
    }
    expect(gzipSync(modelToBytes(m)).length).toBeGreaterThan(0);
  });

  it('prune: a model that already has sparse initializers is pruned as dense and runs', async () => {
    const m0 = miniLenet();
    await pruneModel(m0, { sparsity: 0.9, storage: 'auto' });
    expect(m0.graph.sparseInitializers.length).toBeGreaterThan(0);
    const m1 = await loadModel(modelToBytes(m0));
    const r = await pruneModel(m1, { channels: 0.5 });
    expect(r.notes.join()).toMatch(/sparse initializer\(s\) read as dense/);
    expect(m1.graph.sparseInitializers).toHaveLength(0);
    expect(Object.values(await runModel(m1, input([2, 1, 8, 8])))[0]).toHaveLength(20);
  });
});
