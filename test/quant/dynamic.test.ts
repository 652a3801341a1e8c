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
import { analyzeGraph, quantizeModel } from '../../src/quant/int8/quantize.ts';
import { dynamicBuilder } from '../../src/quant/int8/variants.ts';
import { QUANTIZE_DEFAULTS } from '../../src/quant/int8/types.ts';
import { maxOutputDiff, randomFloats, runModel } from '../helpers/run-model.ts';
import { reference } from './reference.ts';
import { outlierWeightConv, randomDataset, wideRangeConv } from './graphs.ts';
import { measureQuality, worstSqnr } from '../../src/evaluate/quality.ts';
import { errorOf } from '../helpers/errors.ts';

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

  it('quantize: dynamic: MatMul and Gemm(transB) weight-only (the ladder\'s lower rung) keep one scale per output column and run close to float', async () => {
    const before = modelToBytes(model());
    const m = await loadModel(before);
    const facts = analyzeGraph(m);
    const sel = { opTypes: new Set(['MatMul', 'Gemm']), float: new Map(), format: 'qdq' as const, perChannel: true };
    const layers = m.graph.nodes.filter((n) => n.opType !== 'Add' && n.opType !== 'Reshape');
    const built = await dynamicBuilder(m, facts, sel, { ...QUANTIZE_DEFAULTS, mode: 'dynamic' }, 'weight-only').build(new Map(layers.map((n) => [n, 'test'])));
    const g = built.model.graph;
    expect(g.nodes.map((n) => n.opType).filter((o) => o === 'MatMulInteger')).toEqual([]);
    const dq = g.nodes.filter((n) => n.opType === 'DequantizeLinear');
    // wq, wk [K=8, N=8]: axis 1 (the default); wo [N=6, K=8] under transB: axis 0.
    expect(dq.map((n) => [g.initializers.get(n.inputs[1]!)!.dims, n.getInt('axis', 1)])).toEqual([[[8], 1], [[8], 1], [[6], 0]]);
    const feeds = { x: { data: randomFloats(2 * 5 * 8, 9), dims: [2, 5, 8] } };
    const ref = Math.max(...(await runModel(before, feeds)).y!.map(Math.abs));
    expect(await maxOutputDiff(before, built.model, feeds)).toBeLessThan(0.01 * ref);
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
      { node: 'act', opType: 'MatMul', reason: 'weight input 1 is not a float32 constant' },
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

describe('quantize: dynamic precision ladder (integer op → weight-only int8 → float)', () => {
  const steer = (seed: number) => ({ dataset: randomDataset([32, 4, 16], seed), limit: 32, batchSize: 8 });
  const producerOf = (m: Model, tensor: string) => m.graph.nodes.find((n) => n.outputs.includes(tensor))?.opType;

  it('ladder: a Conv whose run-time uint8 input loses its quiet channels moves to weight-only int8, the other stays an integer op', async () => {
    const m = wideRangeConv();
    const before = modelToBytes(m);
    const r = await quantizeModel(m, { mode: 'dynamic' }, { judgedOn: steer(41) });
    expect(r.notes).toContainEqual(expect.stringMatching(/^fallback: moved conv1 \(Conv\) to weight-only int8, sensitivity rank 1 \(output SQNR -?\d+\.\d dB with only it quantized\)$/));
    expect(r.notes).toContainEqual(expect.stringMatching(/^quality: worst output SQNR against float -?\d+\.\d dB all-int8, \d+\.\d dB with conv1 weight-only int8 \(floor 20 dB, steered by 32 samples of <memory>, the data the quality gate judges\)$/));
    expect(r.toWeightOnly?.keptFloat).toEqual(['conv1']);
    expect(r.fallback).toBeUndefined();
    expect(r.quantized).toEqual(['conv1', 'conv2']);
    const conv1 = m.graph.nodes.find((n) => n.name === 'conv1')!;
    expect(conv1.opType).toBe('Conv');
    expect(producerOf(m, conv1.inputs[1]!)).toBe('DequantizeLinear');
    expect(ops(m).filter((o) => o === 'ConvInteger')).toHaveLength(1);
    // Judged in onnxruntime on other inputs than those that steered it.
    const q = await measureQuality(before, modelToBytes(m), steer(42));
    expect(worstSqnr(q.outputs)).toBeGreaterThan(20);
    expect(q.outputs[0]!.cosine).toBeGreaterThan(0.99);
  });

  it('ladder: without data to steer by (no calibration, no gate), the integer ops stay as they are', async () => {
    const m = wideRangeConv();
    const before = modelToBytes(m);
    const r = await quantizeModel(m, { mode: 'dynamic' });
    expect(r.toWeightOnly).toBeUndefined();
    expect(ops(m).filter((o) => o === 'ConvInteger')).toHaveLength(2);
    expect(worstSqnr((await measureQuality(before, modelToBytes(m), steer(42))).outputs)).toBeLessThan(20);
  });

  it('ladder: a layer no int8 form holds goes to float after the weight-only rung; the healthy one is back on its integer op', async () => {
    const m = outlierWeightConv(true);
    const before = modelToBytes(m);
    const r = await quantizeModel(m, { mode: 'dynamic' }, { judgedOn: steer(43) });
    expect(r.notes).toContainEqual(expect.stringMatching(/^fallback: moved all 2 layers running as integer ops \(fragile, sturdy\) to weight-only int8: SQNR -?\d+\.\d → -?\d+\.\d dB, under the floor; float next$/));
    expect(r.notes).toContainEqual(expect.stringMatching(/^fallback: kept fragile \(Conv\) in float, sensitivity rank 1 /));
    expect(r.notes).toContainEqual(expect.stringMatching(/^fallback: the 2 weight-only layers back to integer ops: with fragile in float the floor holds/));
    expect(r.keptFloat).toEqual([{ node: 'fragile', opType: 'Conv', reason: expect.stringMatching(/^returned to float by fallback/) }]);
    expect(r.quantized).toEqual(['sturdy']);
    expect(ops(m)).toEqual(expect.arrayContaining(['Conv', 'ConvInteger']));
    expect(worstSqnr((await measureQuality(before, modelToBytes(m), steer(44))).outputs)).toBeGreaterThan(20);
  });

  it('ladder: when only float meets the floor the check fails, naming the rungs tried', async () => {
    const err = await errorOf(quantizeModel(outlierWeightConv(false), { mode: 'dynamic' }, { judgedOn: steer(45) }));
    expect(err).toBeInstanceOf(CheckError);
    expect(err.message).toMatch(
      /^worst output SQNR against float -?\d+\.\d dB all-int8, -?\d+\.\d dB with fragile weight-only int8; then SQNR floor 20 dB cannot be met: with 0 of 1 layers in float the worst output is still at -?\d+\.\d dB against float; only the float model meets it$/,
    );
  });
});
