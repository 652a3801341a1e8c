import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, float } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { CheckError } from '../../src/errors.ts';
import { runtimeCheck, structureOnly } from '../../src/runtime/check.ts';
import { WeightPool } from '../../src/quant/kernels/parallel.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { maxOutputDiff, randomFloats, runModel } from '../helpers/run-model.ts';
import { reference } from './reference.ts';

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType);
const dir = mkdtempSync(join(tmpdir(), 'shrinkray-dyn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function model(): Model {
  const b = new GraphBuilder('dyn');
  b.input('x', 'float32', ['N', 'T', 8]);
  b.initializer('wq', randomFloats(8 * 8, 1), [8, 8]);
  b.initializer('wk', randomFloats(8 * 8, 2).map((v, i) => v * (1 + (i % 8))), [8, 8]);
  b.node('MatMul', ['x', 'wq'], {}, { name: 'q', outputs: ['q_out'] });
  b.node('MatMul', ['x', 'wk'], {}, { name: 'k', outputs: ['k_out'] });
  const [s] = b.node('Add', ['q_out', 'k_out']);
  const [f] = b.node('Reshape', [s, b.initializer('shape', BigInt64Array.of(-1n, 8n), [2])]);
  b.initializer('wo', randomFloats(6 * 8, 3), [6, 8]);
  b.initializer('bo', randomFloats(6, 4), [6]);
  b.node('Gemm', [f, 'wo', 'bo'], { transB: 1, alpha: 0.5, beta: float(2) }, { name: 'out', outputs: ['y'] });
  b.output('y', 'float32', [undefined, 6]);
  return b.build();
}

describe('quantize: dynamic int8', () => {
  it('quantize: dynamic: MatMul and Gemm(transB, alpha, beta) run close to float, one DynamicQuantizeLinear per input', async () => {
    const before = modelToBytes(model());
    const m = await loadModel(before);
    const result = await quantizeModel(m, { mode: 'dynamic' });
    expect(result.quantized).toEqual(['q', 'k', 'out']);
    expect(ops(m).filter((o) => o === 'DynamicQuantizeLinear')).toHaveLength(2); // x shared by q and k
    expect(ops(m).filter((o) => o === 'MatMulInteger')).toHaveLength(3);
    expect(ops(m)).not.toContain('MatMul');
    const feeds = { x: { data: randomFloats(2 * 5 * 8, 9), dims: [2, 5, 8] } };
    const ref = Math.max(...(await runModel(before, feeds)).y!.map(Math.abs));
    expect(await maxOutputDiff(before, m, feeds)).toBeLessThan(0.02 * ref);
  });

  it('quantize: dynamic: weights are per-column int8 against the float64 reference; an [N,K] weight is stored transposed', async () => {
    const m = model();
    await quantizeModel(m, { mode: 'dynamic' });
    const wk = randomFloats(64, 2).map((v, i) => v * (1 + (i % 8)));
    const ref = reference(wk, [8, 8], 1);
    const mmi = (name: string) => m.graph.nodes.find((n) => n.opType === 'MatMulInteger' && n.name === name)!;
    const k = mmi('k');
    expect(Array.from(m.graph.initializers.get(k.inputs[1]!)!.typed() as Int8Array)).toEqual(ref.q);
    const scaleMul = m.graph.nodes.find((n) => n.opType === 'Mul' && n.inputs.includes(m.graph.nodes.find((d) => d.opType === 'DynamicQuantizeLinear')!.outputs[1]!) && m.graph.initializers.has(n.inputs[1]!))!;
    expect(Array.from(m.graph.initializers.get(scaleMul.inputs[1]!)!.toFloat32()).length).toBe(8);
    const kScale = m.graph.nodes.filter((n) => n.opType === 'Mul' && m.graph.initializers.has(n.inputs[1]!)).map((n) => Array.from(m.graph.initializers.get(n.inputs[1]!)!.toFloat32()));
    expect(kScale).toContainEqual(ref.scales);
    // Gemm wo is [N=6, K=8] with alpha 0.5: rows are output columns, stored as [K, N].
    const wo = randomFloats(48, 3).map((v) => v * 0.5);
    const refO = reference(wo, [6, 8], 0);
    const got = m.graph.initializers.get(mmi('out').inputs[1]!)!;
    expect(got.dims).toEqual([8, 6]);
    const q = got.typed();
    for (let n = 0; n < 6; n++) for (let k = 0; k < 8; k++) expect(q[k * 6 + n]).toBe(refO.q[n * 8 + k]);
  });

  it('quantize: dynamic: onnxruntime fuses the pattern into its integer kernels', async () => {
    const m = model();
    await quantizeModel(m, { mode: 'dynamic' });
    const path = join(dir, 'optimized.onnx');
    const s = await ort.InferenceSession.create(modelToBytes(m), { graphOptimizationLevel: 'all', optimizedModelFilePath: path, logSeverityLevel: 3 });
    await s.release();
    const optimized = ops(await loadModel(path));
    // A quantized input read by one MatMul fuses whole; one shared by two keeps its
    // DynamicQuantizeLinear and feeds MatMulIntegerToFloat (quantized once, not twice).
    expect(optimized).toEqual(['DynamicQuantizeLinear', 'MatMulIntegerToFloat', 'MatMulIntegerToFloat', 'Add', 'Reshape', 'DynamicQuantizeMatMul']);
  });

  it('quantize: dynamic: excluded nodes and MatMuls without constant weights stay float', async () => {
    const b = new GraphBuilder('two');
    b.input('x', 'float32', ['N', 4]);
    b.input('z', 'float32', [4, 4]);
    b.node('MatMul', ['x', 'z'], {}, { name: 'act', outputs: ['a'] });
    b.node('MatMul', ['a', b.initializer('w', randomFloats(16, 5), [4, 4])], {}, { name: 'keep', outputs: ['y'] });
    b.output('y', 'float32', ['N', 4]);
    const m = b.build();
    const r = await quantizeModel(m, { mode: 'dynamic', excludeNodes: ['keep'] });
    expect(r.quantized).toEqual([]);
    expect(r.keptFloat).toEqual([
      { node: 'act', opType: 'MatMul', reason: 'weight is not a 2-D float32 constant' },
      { node: 'keep', opType: 'MatMul', reason: 'excluded by excludeNodes' },
    ]);
    expect(r.notes).toContain('no node was quantized');
  });
});

describe('quantize: large-model machinery', () => {
  it('quantize: worker threads give the reference codes, reading from a file slice or from bytes', async () => {
    const pool = WeightPool.create(2)!;
    try {
      const [rows, cols] = [40, 72];
      const w = randomFloats(rows * cols, 12).map((v, i) => v * (1 + (i % 9)));
      const path = join(dir, 'weights.bin');
      const bytes = new Uint8Array(w.buffer);
      writeFileSync(path, Buffer.concat([Buffer.alloc(12), bytes])); // at an offset, as in a model file
      const byColumn = reference(w, [rows, cols], 1);
      const byRow = reference(w, [rows, cols], 0);
      const [a, b, c] = await Promise.all([
        pool.quantize({ source: { path, offset: 12 }, rows, cols, perColumn: true, perChannel: true, factor: 1 }),
        pool.quantize({ source: { bytes }, rows, cols, perColumn: false, perChannel: true, factor: 1 }),
        pool.quantize({ source: { bytes }, rows, cols, perColumn: true, perChannel: false, factor: 1 }),
      ]);
      expect(Array.from(a.values)).toEqual(byColumn.q);
      expect(Array.from(a.scales)).toEqual(byColumn.scales);
      expect(Array.from(b.values)).toEqual(byRow.q);
      expect(Array.from(b.scales)).toEqual(byRow.scales);
      expect(c.scales).toHaveLength(1);
      expect(c.scales[0]).toBe(Math.max(...byColumn.scales));
    } finally {
      await pool.close();
    }
  });

  it('quantize: the structural runtime check feeds large weights as inputs and still rejects a missing kernel', async () => {
    const b = new GraphBuilder('big');
    b.input('x', 'float32', ['N', 512]);
    b.initializer('w', randomFloats(512 * 512, 3), [512, 512]); // 1 MiB
    b.node('MatMul', ['x', 'w'], {}, { outputs: ['y'] });
    b.output('y', 'float32', ['N', 512]);
    const m = b.build();
    const s = structureOnly(m);
    expect(s.graph.initializers.size).toBe(0);
    expect(s.graph.inputs.map((v) => [v.name, v.type?.shape])).toEqual([['x', ['N', 512]], ['w', [512, 512]]]);
    expect(await runtimeCheck(m, 'the model', 'structure')).toBe('structure');
    expect(await runtimeCheck(m, 'the model', 'auto')).toBe('full');
    m.graph.nodes[0]!.opType = 'MatMulFoo';
    await expect(runtimeCheck(m, 'the model', 'structure')).rejects.toThrow(CheckError);
  });
});
