import { expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { summarizeModel } from '../../src/inspect/summary.ts';
import { pruneModel } from '../../src/prune/index.ts';
import { randomFloats } from '../helpers/run-model.ts';
import { constantWeightModel, ifModel } from '../helpers/subgraph-models.ts';

it('inspect: weights stored as sparse initializers count as the dense tensors they stand for', async () => {
  const b = new GraphBuilder('sparse');
  const x = b.input('x', 'float32', ['N', 64]);
  const [y] = b.node('MatMul', [x, b.initializer('w', randomFloats(64 * 64, 5), [64, 64])], {}, { name: 'fc' });
  b.output(y, 'float32', ['N', 64]);
  const model = b.build();
  const dense = summarizeModel(model);
  await pruneModel(model, { sparsity: 0.9, storage: 'auto' });
  const reloaded = await loadModel(modelToBytes(model));
  expect(reloaded.graph.sparseInitializers.length).toBe(1);
  expect(reloaded.graph.initializers.size).toBe(0);
  const s = summarizeModel(reloaded);
  expect(s.params).toBe(dense.params);
  expect(s.sparsity).toBeCloseTo(0.9, 2);
  expect(s.layers[0]).toMatchObject({ node: 'fc', params: 4096 });
});

it('inspect: weights held by Constant nodes, in the main graph and in If branches, count as parameters of their layer', () => {
  const c = summarizeModel(constantWeightModel());
  expect(c.params).toBe(64 * 64 + 64 + 64 * 8);
  expect(c.layers.find((l) => l.node === 'g0')).toMatchObject({ params: 64 * 64 + 64 });
  const s = summarizeModel(ifModel());
  expect(s.params).toBe(7 * 64 * 64 + 6 * 64 + 1);
  expect(s.layers.find((l) => l.node === 'else_gemm2')).toMatchObject({ params: 64 * 64 + 64 });
});
