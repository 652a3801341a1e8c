/** Pruning reaches weights inside If/Loop bodies and in Constant nodes (magnitude, N:M, channels, sparse storage). */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { pruneModel } from '../../src/prune/index.ts';
import { summarizeModel } from '../../src/inspect/summary.ts';
import { ifModel, loopModel } from '../helpers/subgraph-models.ts';

describe('prune: subgraphs', () => {
  it('prune: magnitude: the Gemms of both If branches (Constant-node weights) and the Loop body reach the sparsity asked', async () => {
    for (const make of [ifModel, loopModel]) {
      const m = make();
      const r = await pruneModel(m, { sparsity: 0.5 });
      expect(r.layers.length).toBe(make === ifModel ? 7 : 1);
      for (const l of r.layers) expect(l.sparsity).toBeCloseTo(0.5, 2);
    }
  });

  it('prune: N:M 2:4 reaches the If branches', async () => {
    const r = await pruneModel(ifModel(), { pattern: { n: 2, m: 4 } });
    expect(r.layers.map((l) => l.node)).toContain('else_gemm2');
    for (const l of r.layers) expect(l.sparsity).toBeCloseTo(0.5, 5);
  });

  it('prune: sparse storage stores body weights sparse, and onnxruntime loads them', async () => {
    const m = ifModel();
    const r = await pruneModel(m, { sparsity: 0.9, storage: 'auto' });
    expect(r.storage.filter((s) => s.chosen === 'sparse').length).toBe(7);
    const reloaded = await loadModel(modelToBytes(m));
    const branch = reloaded.graph.nodes.find((n) => n.opType === 'If')!.subgraphs()[0]!;
    expect(branch.sparseInitializers.length).toBe(3);
    expect(summarizeModel(reloaded).sparsity).toBeGreaterThan(0.85);
  });

  it('prune: channels: each If branch is pruned like a graph of its own, its outputs keep their channels', async () => {
    const m = ifModel();
    const r = await pruneModel(m, { channels: 0.5 });
    const body = (tag: string) => m.graph.nodes.find((n) => n.opType === 'If')!.subgraphs().find((g) => g.name.startsWith(tag))!;
    for (const tag of ['then', 'else']) {
      const dims = (i: number) => body(tag).initializers.get(`${tag}_w${i}`)!.dims;
      expect([dims(0), dims(1), dims(2)]).toEqual([[64, 32], [32, 32], [32, 64]]);
      expect(body(tag).initializers.get(`${tag}_b1`)!.dims).toEqual([32]);
    }
    expect(r.channelsRemoved).toBe(4 * 32);
    expect(r.verifyMaxDiff).toBeLessThan(1e-4); // the masked original, masked inside both branches
    expect(r.notes.join()).toMatch(/'then_gemm2' kept: graph output 'then_y'/);
    expect(r.notes.join()).toMatch(/'pre' kept: read inside a subgraph/);
  });

  it('prune: channels: a Loop body whose layer feeds the carried state keeps its channels', async () => {
    const r = await pruneModel(loopModel(), { channels: 0.5 });
    expect(r.channelsRemoved).toBe(0);
    expect(r.notes.join()).toMatch(/'cell_matmul' kept: graph output 's_next'/);
  });
});
