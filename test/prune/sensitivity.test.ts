import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { analyzeSensitivity, sensitivityMarkdown } from '../../src/prune/sensitivity.ts';
import { pruneModel } from '../../src/prune/prune.ts';
import { argmax } from '../../src/report/metrics.ts';
import { randomFloats, runModel } from '../helpers/run-model.ts';
import { copyOf, gemm, memoryDataset, relu } from './graphs.ts';

function mlp(): Model {
  const b = new GraphBuilder('tiny-mlp');
  const x = b.input('x', 'float32', ['N', 6]);
  const h = relu(b, gemm(b, 'fc1', x, 6, 16));
  b.node('Gemm', [h, b.initializer('fc2.weight', randomFloats(48, 77), [3, 16])], { transB: 1 }, { name: 'fc2', outputs: ['out'] });
  b.output('out', 'float32', ['N', 3]);
  return b.build();
}

/** An in-memory data set; labels (when asked) are the model's own predictions. */
async function dataset(model: Model, labelled: boolean): Promise<Dataset> {
  const n = 96;
  const x = randomFloats(n * 6, 31);
  const out = (await runModel(model, { x: { data: x, dims: [n, 6] } })).out!;
  const y = BigInt64Array.from({ length: n }, (_, r) => {
    const row = Array.from(out.subarray(r * 3, r * 3 + 3));
    return BigInt(row.indexOf(Math.max(...row)));
  });
  return memoryDataset(x, [n, 6], labelled ? y : undefined);
}

describe('prune sensitivity', () => {
  it('prune: per-layer accuracy at each sparsity, a suggestion within the budget, checked as a whole', async () => {
    const m = mlp();
    const r = await analyzeSensitivity(m, await dataset(m, true), { sparsities: [0.3, 0.6, 0.95], maxDrop: 5, batchSize: 40 });
    expect(r.metric).toBe('accuracy');
    expect(r.baseline).toBe(1);
    expect(r.samples).toBe(96);
    expect(r.layers.map((l) => l.node)).toEqual(['fc1', 'fc2']);
    for (const l of r.layers) {
      expect(l.points.map((p) => p.sparsity)).toEqual([0.3, 0.6, 0.95]);
      const within = l.points.filter((p) => p.drop <= 5).map((p) => p.sparsity);
      expect(l.suggested).toBe(within.length ? Math.max(...within) : 0);
    }
    expect(r.layers.some((l) => l.points.at(-1)!.drop > 0)).toBe(true);
    expect(r.suggestion.option).toBe(Object.entries(r.suggestion.layers).map(([k, v]) => `${k}=${v}`).join(','));
    if (r.suggestion.option) expect(r.suggestion.metric).toBeGreaterThan(0);
    const md = sensitivityMarkdown(r);
    expect(md).toMatch(/\| layer \| op \| params \| sparsity 0.3 \| sparsity 0.6 \| sparsity 0.95 \| suggested \|/);
    expect(md).toMatch(/\| fc1 \| Gemm \| 96 \|/);
    // The model passed in is not changed.
    expect(Array.from(m.graph.initializers.get('fc1.weight')!.toFloat32()).every((v) => v !== 0)).toBe(true);
  });

  it('prune: magnitude points (weights fed to one session) score what the pruned model scores on its own', async () => {
    const m = mlp();
    const ds = await dataset(m, true);
    const r = await analyzeSensitivity(m, ds, { sparsities: [0.5, 0.9], checkSuggestion: false });
    const x = randomFloats(96 * 6, 31);
    const labels = (await runModel(m, { x: { data: x, dims: [96, 6] } })).out!;
    const top = (out: Float32Array) => Array.from({ length: 96 }, (_, i) => argmax(out, i * 3, 3));
    for (const l of r.layers) {
      for (const p of l.points) {
        const pruned = await copyOf(m);
        await pruneModel(pruned, { layerSparsity: { [l.node]: p.sparsity } });
        const got = top((await runModel(pruned, { x: { data: x, dims: [96, 6] } })).out!);
        const want = top(labels);
        expect(p.metric, `${l.node} at ${p.sparsity}`).toBe(got.filter((c, i) => c === want[i]).length / 96);
      }
    }
    expect(r.layers.flatMap((l) => l.points).some((p) => p.metric < 1)).toBe(true);
  });

  it('prune: without labels, agreement with the unpruned model; channels mark the output layer fixed', async () => {
    const m = mlp();
    const r = await analyzeSensitivity(m, await dataset(m, false), { sparsities: [0.5], method: 'channels', checkSuggestion: false });
    expect(r.metric).toBe('agreement');
    expect(r.baseline).toBe(1);
    expect(r.layers.find((l) => l.node === 'fc2')?.fixed).toMatch(/graph output/);
    expect(r.layers.find((l) => l.node === 'fc1')?.points).toHaveLength(1);
  });
});
