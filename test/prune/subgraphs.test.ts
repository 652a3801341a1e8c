/** Pruning reaches weights inside If/Loop bodies and in Constant nodes (magnitude, N:M, sparse storage). */
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

  it('prune: channels: layers inside bodies keep their channels, with a note', async () => {
    const r = await pruneModel(ifModel(), { channels: 0.25, unsupported: 'skip' });
    expect(r.notes).toContain('channels: 6 layer(s) inside If/Loop/Scan bodies keep their channels (structured pruning follows the main graph; magnitude and N:M reach them)');
  });
});
