import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { Graph } from '../../src/ir/graph.ts';
import { Node } from '../../src/ir/node.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { ValueInfo } from '../../src/ir/value.ts';
import type { Model } from '../../src/ir/model.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHalfBits } from '../../src/math/float16.ts';
import { mulberry32 } from '../../src/math/random.ts';
import { loadModel } from '../../src/io/load.ts';
import { saveModel } from '../../src/io/save.ts';
import { summarizeModel } from '../../src/inspect/summary.ts';
import { pruneModel } from '../../src/prune/prune.ts';
import { scheduleSteps, sparsityAt } from '../../src/prune/schedule.ts';
import { maxOutputDiff, randomFloats, runModel } from '../helpers/run-model.ts';
import { copyOf, input, miniLenet, values } from './graphs.ts';

const WEIGHTS = ['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight'];
const zeros = (m: Model, name: string) => values(m, name).filter((v) => v === 0).length;
const fraction = (m: Model, names: string[]) => names.reduce((n, k) => n + zeros(m, k), 0) / names.reduce((n, k) => n + values(m, k).length, 0);

/**
 * MatMuls reading one input: a chain of [dim, dim] weights, or (no dim) each weight [2, n/2]
 * on x [N, 2] with an output of its own.
 */
function matmuls(weights: Record<string, Float32Array>, dim?: number): Model {
  const b = new GraphBuilder('matmuls');
  const x = b.input('x', 'float32', ['N', dim ?? 2]);
  let y = x;
  for (const [name, data] of Object.entries(weights)) {
    b.initializer(name, data, dim ? [dim, dim] : [2, data.length / 2]);
    const [out] = b.node('MatMul', [dim ? y : x, name], {}, { name: `mm_${name}` });
    if (dim) y = out!;
    else b.output(out!, 'float32', ['N', data.length / 2]);
  }
  if (dim) b.output(y, 'float32', ['N', dim]);
  return b.build();
}

/** The reference: a stable sort of float32 magnitudes, the first round(s × n) zeroed (zeros kept as they are). */
function sortPrune(tensors: readonly Float32Array[], sparsity: number): Float32Array[] {
  const all = tensors.flatMap((t, ti) => Array.from(t, (v, i) => ({ ti, i, m: Math.fround(Math.abs(v)) })));
  all.sort((p, q) => p.m - q.m); // stable: ties stay in order
  const out = tensors.map((t) => Float32Array.from(t));
  for (const { ti, i } of all.slice(0, Math.round(sparsity * all.length))) if (out[ti]![i] !== 0) out[ti]![i] = 0;
  return out;
}

describe('prune magnitude', () => {
  it('prune: layer-wise sparsity is exact per layer and reported within 0.5 %', async () => {
    for (const s of [0.5, 0.7, 0.9]) {
      const m = miniLenet();
      const r = await pruneModel(m, { sparsity: s });
      for (const k of WEIGHTS) expect(zeros(m, k)).toBe(Math.round(s * values(m, k).length));
      expect(Math.abs(r.achieved - s)).toBeLessThan(0.005);
      expect(Math.abs(fraction(m, WEIGHTS) - r.achieved)).toBeLessThan(0.003);
      expect(r.requested).toBe(s);
    }
  });

  it('prune: the smallest magnitudes go, and the biases stay', async () => {
    const m0 = miniLenet();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { sparsity: 0.6 });
    const before = values(m0, 'fc1.weight');
    const after = values(m1, 'fc1.weight');
    const keptMin = Math.min(...after.filter((v) => v !== 0).map(Math.abs));
    const prunedMax = Math.max(...before.filter((_, i) => after[i] === 0).map(Math.abs));
    expect(prunedMax).toBeLessThanOrEqual(keptMin);
    expect(after.every((v, i) => v === 0 || v === before[i])).toBe(true);
    expect(values(m1, 'fc1.bias')).toEqual(values(m0, 'fc1.bias'));
  });

  it('prune: global ranking hits the overall sparsity and spreads it unevenly', async () => {
    const m = miniLenet();
    const r = await pruneModel(m, { sparsity: 0.7, global: true });
    expect(Math.abs(fraction(m, WEIGHTS) - 0.7)).toBeLessThan(0.005);
    expect(Math.abs(r.achieved - 0.7)).toBeLessThan(0.005);
    const per = WEIGHTS.map((k) => zeros(m, k) / values(m, k).length);
    expect(Math.max(...per) - Math.min(...per)).toBeGreaterThan(0.01);
  });

  it('prune: skip first/last and per-layer overrides (also out of the global ranking)', async () => {
    const m = miniLenet();
    const r = await pruneModel(m, { sparsity: 0.8, global: true, skip: ['first', 'last'], layerSparsity: { conv2: 0.3 } });
    expect(zeros(m, 'conv1.weight')).toBe(0);
    expect(zeros(m, 'fc2.weight')).toBe(0);
    expect(zeros(m, 'conv2.weight')).toBe(Math.round(0.3 * 6 * 8 * 9));
    expect(zeros(m, 'fc1.weight')).toBe(Math.round(0.8 * 12 * 128));
    expect(r.layers.find((l) => l.node === 'conv1')?.skipped).toBe('skip');
    expect(r.layers.find((l) => l.node === 'conv2')?.target).toBe(0.3);
  });

  it('prune: ties at the threshold are broken by position so the count is exact', async () => {
    const m = matmuls({ w: Float32Array.of(1, -1, 1, 1, 0.5, 2) });
    await pruneModel(m, { sparsity: 0.5 });
    expect(values(m, 'w')).toEqual([0, 0, 1, 1, 0, 2]);
  });

  it('prune: global ties go to the earlier tensor, and a -0 stays as it was', async () => {
    const m = matmuls({ a: Float32Array.of(3, 1, -0, 2, 4, 5), b: Float32Array.of(1, 1, 6, 7, 8, 9) });
    await pruneModel(m, { sparsity: 0.25, global: true });
    expect(values(m, 'a').map((v) => Object.is(v, -0) ? '-0' : v)).toEqual([3, 0, '-0', 2, 4, 5]);
    expect(values(m, 'b')).toEqual([0, 1, 6, 7, 8, 9]);
  });

  it('prune: the streamed threshold matches a sort of the magnitudes (duplicates, zeros, every sparsity)', async () => {
    const rng = mulberry32(11);
    // Few distinct magnitudes: many ties, some in the bucket the threshold falls in.
    const data = (n: number) => Float32Array.from({ length: n }, () => (rng() < 0.1 ? 0 : Math.round((rng() * 2 - 1) * 40) / 64));
    for (const global of [false, true]) {
      for (const sparsity of [0.05, 0.3, 0.5, 0.9, 0.999]) {
        const given = { a: data(24), b: data(40), c: data(8) };
        const m = matmuls(given);
        await pruneModel(m, { sparsity, global });
        const groups = global ? [['a', 'b', 'c']] : [['a'], ['b'], ['c']];
        for (const names of groups) {
          const expected = sortPrune(names.map((n) => given[n as keyof typeof given]), sparsity);
          names.forEach((n, i) => expect(values(m, n), `${n} at ${sparsity}${global ? ' global' : ''}`).toEqual(Array.from(expected[i]!)));
        }
        for (const n of ['a', 'b', 'c']) expect(m.graph.initializers.get(n)!.zeroCount()).toBe(values(m, n).filter((v) => v === 0).length);
      }
    }
  });

  it('prune: a weight read from a file is pruned as it is saved, and runs as the same model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prune-stream-'));
    try {
      const rng = mulberry32(5);
      const given = { a: Float32Array.from({ length: 64 * 64 }, () => rng() - 0.5), b: Float32Array.from({ length: 64 * 64 }, () => rng() - 0.5) };
      await saveModel(matmuls(given, 64), join(dir, 'in.onnx'));
      const fromFile = await loadModel(join(dir, 'in.onnx'));
      const inMemory = matmuls(given, 64);
      await pruneModel(fromFile, { sparsity: 0.7 });
      await pruneModel(inMemory, { sparsity: 0.7 });
      expect(fromFile.graph.initializers.get('a')!.isDeferred).toBe(true);
      await saveModel(fromFile, join(dir, 'out.onnx'));
      const saved = await loadModel(join(dir, 'out.onnx'));
      for (const n of ['a', 'b']) expect(values(saved, n)).toEqual(values(inMemory, n));
      expect(summarizeModel(fromFile).zeros).toBe(summarizeModel(saved).zeros);
      expect(await maxOutputDiff(saved, inMemory, { x: { data: randomFloats(2 * 64, 1), dims: [2, 64] } })).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prune: the pruned model runs in onnxruntime and changes gracefully at low sparsity', async () => {
    const m0 = miniLenet();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { sparsity: 0.1 });
    const out = await runModel(m1, input([2, 1, 8, 8]));
    expect(Object.values(out)[0]).toHaveLength(20);
    const d = await maxOutputDiff(m0, m1, input([2, 1, 8, 8]));
    expect(d).toBeGreaterThan(0);
  });

  it('prune: float16 weights stay float16 with exact zeros', async () => {
    const b = new GraphBuilder('half');
    const x = b.input('x', 'float32', ['N', 8]);
    const half = Uint16Array.from(randomFloats(32, 3), (v) => toHalfBits(v));
    b.initializer('w', half, [8, 4]);
    b.graph.initializers.get('w')!.dtype = 'float16';
    const [c] = b.node('Cast', [x], { to: 10 });
    const [y] = b.node('MatMul', [c!, 'w']);
    b.node('Cast', [y!], { to: 1 }, { outputs: ['out'] });
    b.output('out', 'float32', ['N', 4]);
    const m = b.build();
    const r = await pruneModel(m, { sparsity: 0.5 });
    const t = m.graph.initializers.get('w')!;
    expect(t.dtype).toBe('float16');
    expect(Array.from(t.typed() as Uint16Array).filter((v) => v === 0)).toHaveLength(16);
    expect(r.achieved).toBe(0.5);
  });

  it('prune: nothing to do, both sparsity and pattern, or a bad fraction are refused', async () => {
    await expect(pruneModel(miniLenet(), {})).rejects.toThrow(/nothing to do/);
    await expect(pruneModel(miniLenet(), { sparsity: 0.5, pattern: { n: 2, m: 4 } })).rejects.toThrow(/either sparsity/);
    await expect(pruneModel(miniLenet(), { sparsity: 1 })).rejects.toThrow(/\[0, 1\)/);
  });
});

describe('prune schedule', () => {
  it('prune: constant and polynomial (cubic) schedules', () => {
    expect(sparsityAt({ kind: 'constant', final: 0.8 }, 5)).toBe(0.8);
    const s = { kind: 'polynomial' as const, final: 0.8, initial: 0, end: 10 };
    expect(sparsityAt(s, 0)).toBe(0);
    expect(sparsityAt(s, 10)).toBe(0.8);
    expect(sparsityAt(s, 5)).toBeCloseTo(0.8 * (1 - 0.5 ** 3));
    const steps = scheduleSteps(s, 10);
    expect(steps.every((v, i) => i === 0 || v >= steps[i - 1]!)).toBe(true);
    expect(sparsityAt({ ...s, frequency: 4 }, 7)).toBe(sparsityAt(s, 4));
    expect(() => sparsityAt({ kind: 'polynomial', final: 0.5 }, 1)).toThrow(/end > begin/);
  });
});

describe('prune magnitude: subgraphs', () => {
  it('prune: weights inside a subgraph are left as they are, the main graph is pruned', async () => {
    const m = miniLenet();
    const g = new Graph('then');
    g.addInitializer(Tensor.fromTyped('inner.weight', randomFloats(10 * 10, 4), [10, 10]));
    g.nodes.push(new Node('MatMul', [m.graph.outputs[0]!.name, 'inner.weight'], ['inner_out'], 'inner'));
    g.outputs.push(new ValueInfo('inner_out', { dtype: 'float32', shape: undefined }));
    const cond = Tensor.fromTyped('cond', Uint8Array.of(1), []);
    cond.dtype = 'bool';
    m.graph.addInitializer(cond);
    const elseBranch = new Graph('else');
    elseBranch.nodes.push(new Node('Identity', [m.graph.outputs[0]!.name], ['else_out']));
    elseBranch.outputs.push(new ValueInfo('else_out', { dtype: 'float32', shape: undefined }));
    const ifNode = new Node('If', ['cond'], ['z'], 'if');
    ifNode.setAttr('then_branch', g);
    ifNode.setAttr('else_branch', elseBranch);
    m.graph.nodes.push(ifNode);
    m.graph.outputs.push(new ValueInfo('z', { dtype: 'float32', shape: ['N', 10] }));
    await pruneModel(m, { sparsity: 0.5 });
    expect(zeros(m, 'fc1.weight')).toBe(Math.round(0.5 * 12 * 128));
    expect(Array.from(g.initializers.get('inner.weight')!.toFloat32()).every((v) => v !== 0)).toBe(true);
  });
});
