/**
 * Weights where exporters put them — Constant nodes, If branches, Loop bodies — reached by
 * every quantization mode with the main graph's rules (docs/passes/quantize.md, "Subgraphs").
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { ValueInfo } from '../../src/ir/value.ts';
import { Node } from '../../src/ir/node.ts';
import { Graph } from '../../src/ir/graph.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import type { Model } from '../../src/ir/model.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { modelBytesWithOutputs } from '../../src/runtime/capture.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { quantizeModelInt4 } from '../../src/quant/int4/int4.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { randomFloats } from '../helpers/run-model.ts';
import { convModel, ifModel, loopModel, recurrentModel } from '../helpers/subgraph-models.ts';
import { memoryDataset } from './graphs.ts';

const F = 64;
/** Rows with a positive mean take the If's then branch, negative ones the else branch. */
const shifted = (rows: number, shift: number, seed: number) => randomFloats(rows * F, seed).map((v) => v + shift);
const positive = shifted(4, 0.3, 3);
const negative = shifted(4, -0.3, 4);
// Calibration runs batches of 64: one batch takes each branch.
const bothBranches = () => memoryDataset(Float32Array.from([...shifted(64, 0.3, 5), ...shifted(64, -0.3, 6)]), [128, F]);

async function output(model: Model | Uint8Array, x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model instanceof Uint8Array ? model : modelToBytes(model));
  try {
    return (await s.run({ x: new ort.Tensor('float32', x, [x.length / F, F]) })).y!.data as Float32Array;
  } finally {
    await s.release();
  }
}

async function relativeError(before: Uint8Array, after: Model, x: Float32Array): Promise<number> {
  const [a, b] = [await output(before, x), await output(after, x)];
  let diff = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    max = Math.max(max, Math.abs(a[i]!));
  }
  return diff / max;
}

const bodyOps = (m: Model) => m.graph.nodes.flatMap((n) => n.subgraphs()).flatMap((g) => [...g.walk()]).flatMap((g) => g.nodes.map((n) => n.opType));

describe('quantize: subgraphs', () => {
  const modes = [
    { name: 'dynamic', options: { mode: 'dynamic' as const }, kernel: 'MatMulInteger' },
    { name: 'static qdq', options: { mode: 'static' as const, format: 'qdq' as const, target: 'size' as const }, kernel: 'DequantizeLinear' },
    { name: 'static qoperator', options: { mode: 'static' as const, format: 'qoperator' as const, target: 'size' as const }, kernel: 'QGemm' },
  ];
  for (const { name, options, kernel } of modes) {
    it(`quantize: ${name}: an If with Gemms in both branches (weights in Constant nodes) is quantized whole: ≤ 0.32×, both branches close to float`, async () => {
      const m = ifModel();
      const before = modelToBytes(m);
      const result = await quantizeModel(m, options, { calibration: bothBranches() });
      expect(result.quantized).toEqual(['pre', 'then_gemm0', 'then_gemm1', 'then_gemm2', 'else_gemm0', 'else_gemm1', 'else_gemm2']);
      expect(result.notes).toContain('6 node(s) inside If/Loop/Scan bodies quantized');
      // Static mode's quality figure (the fallback's start) covers the bodies too, not only the main graph's Gemm.
      if (options.mode === 'static') expect(result.notes.find((n) => n.startsWith('quality: worst output SQNR'))).toMatch(/SQNR against float \d+\.\d dB all-int8/);
      expect(bodyOps(m)).toContain(kernel);
      expect(bodyOps(m)).not.toContain('Constant');
      expect(modelToBytes(m).length / before.length).toBeLessThanOrEqual(0.32);
      expect(await relativeError(before, m, positive)).toBeLessThan(0.04);
      expect(await relativeError(before, m, negative)).toBeLessThan(0.04);
    });

    it(`quantize: ${name}: a Loop body's weight, kept in the main graph, moves into the body and is quantized: ≤ 0.32×`, async () => {
      const m = loopModel();
      const before = modelToBytes(m);
      const result = await quantizeModel(m, options, { calibration: bothBranches() });
      expect(result.quantized).toEqual(['cell_matmul']);
      expect(m.graph.initializers.has('cell_w')).toBe(false);
      expect(modelToBytes(m).length / before.length).toBeLessThanOrEqual(0.32);
      expect(await relativeError(before, m, positive)).toBeLessThan(0.04);
    });
  }

  it('quantize: static qdq: a Transpose of a quantized result read by If branches (not as an input) loads in onnxruntime', async () => {
    // onnxruntime 1.30's QDQ propagation aborts (SIGABRT, an assertion) when it inserts a Q/DQ
    // pair between such a Transpose and the If: silero-vad v4 was the real case.
    const b = new GraphBuilder('transpose-into-if');
    b.input('x', 'float32', ['N', F]);
    b.initializer('w', randomFloats(F * F, 40), [F, F]);
    b.node('Gemm', ['x', 'w'], {}, { name: 'pre', outputs: ['h'] });
    b.node('Transpose', ['h'], { perm: [1, 0] }, { name: 'flip', outputs: ['t'] });
    b.node('ReduceMean', ['x'], { keepdims: 0 }, { name: 'mean', outputs: ['m'] });
    b.initializer('zero', Float32Array.of(0), []);
    b.node('Greater', ['m', 'zero'], {}, { name: 'positive', outputs: ['c'] });
    const branch = (tag: string, op: string) => {
      const g = new Graph(`${tag}_branch`);
      g.nodes.push(new Node(op, ['t'], [`${tag}_y`], `${tag}_op`));
      g.outputs = [new ValueInfo(`${tag}_y`, { dtype: 'float32', shape: [F, 'N'] })];
      return g;
    };
    b.node('If', ['c'], { then_branch: branch('then', 'Relu'), else_branch: branch('else', 'Neg') }, { name: 'branch', outputs: ['y'] });
    b.output('y', 'float32', [F, 'N']);
    const m = b.build();
    const before = modelToBytes(m);
    const result = await quantizeModel(m, { mode: 'static', format: 'qdq', target: 'size' }, { calibration: bothBranches() });
    expect(result.quantized).toContain('pre');
    expect(await relativeError(before, m, positive)).toBeLessThan(0.04);
    expect(await relativeError(before, m, negative)).toBeLessThan(0.04);
  });

  it('quantize: static: an If branch the calibration data never ran stays float, and says so', async () => {
    const m = ifModel();
    const before = modelToBytes(m);
    const result = await quantizeModel(m, { mode: 'static', target: 'size' }, { calibration: memoryDataset(shifted(64, 0.3, 5), [64, F]) });
    expect(result.quantized).toEqual(['pre', 'then_gemm0', 'then_gemm1', 'then_gemm2']);
    expect(result.keptFloat.map((k) => [k.node, k.reason])).toEqual(['else_gemm0', 'else_gemm1', 'else_gemm2'].map((n) => [n, 'the calibration data never ran it (a branch not taken?)']));
    expect(await relativeError(before, m, positive)).toBeLessThan(0.04);
  });

  it('quantize: static: fallback ranks the layers inside If branches too, and returns the one the calibration data breaks to float', async () => {
    // Both branches read x; one calibration sample has 5000 in feature 3, which no weight uses:
    // minmax spends x's 8 bits on it, so each branch MatMul alone wrecks the output.
    const b = new GraphBuilder('branches', { opsets: { '': 17 } });
    b.input('x', 'float32', ['N', F]);
    b.node('ReduceMean', ['x'], { keepdims: 0 }, { name: 'mean', outputs: ['m'] });
    b.node('Greater', ['m', b.initializer('zero', Float32Array.of(0), [])], {}, { name: 'positive', outputs: ['c'] });
    const branch = (tag: string, seed: number) => {
      const g = new Graph(`${tag}_branch`);
      g.initializers.set(`${tag}_w`, Tensor.fromTyped(`${tag}_w`, randomFloats(F * 16, seed).fill(0, 3 * 16, 4 * 16), [F, 16]));
      g.nodes.push(new Node('MatMul', ['x', `${tag}_w`], [`${tag}_y`], `${tag}_mm`));
      g.outputs = [new ValueInfo(`${tag}_y`, { dtype: 'float32', shape: ['N', 16] })];
      return g;
    };
    b.node('If', ['c'], { then_branch: branch('then', 31), else_branch: branch('else', 32) }, { name: 'branch', outputs: ['y'] });
    b.output('y', 'float32', ['N', 16]);
    const m = b.build();
    const wild = shifted(64, 0.3, 5);
    wild[3] = 5000;
    const result = await quantizeModel(m, { mode: 'static', target: 'size' }, { calibration: memoryDataset(wild, [64, F]) });
    expect(result.keptFloat.find((k) => k.node === 'then_mm')?.reason).toMatch(/^returned to float by fallback/);
    expect(result.notes.find((n) => n.startsWith('quality: worst output SQNR'))).toMatch(/in float \(floor 20 dB/);
  });

  it('quantize: a weight computed from constants inside an If branch (Concat of two halves, as silero-vad builds its LSTM weights) is folded first, then quantized', async () => {
    const b = new GraphBuilder('computed', { opsets: { '': 17 } });
    b.input('x', 'float32', ['N', F]);
    b.node('ReduceMean', ['x'], { keepdims: 0 }, { name: 'mean', outputs: ['m'] });
    b.node('Greater', ['m', b.initializer('zero', Float32Array.of(0), [])], {}, { name: 'positive', outputs: ['c'] });
    b.initializer('top', randomFloats((F / 2) * F, 41), [F / 2, F]);
    b.initializer('bottom', randomFloats((F / 2) * F, 42), [F / 2, F]);
    const branch = (tag: string) => {
      const g = new Graph(`${tag}_branch`);
      g.nodes.push(new Node('Concat', ['top', 'bottom'], [`${tag}_w`], `${tag}_concat`), new Node('MatMul', ['x', `${tag}_w`], [`${tag}_y`], `${tag}_mm`));
      g.nodes[0]!.setAttr('axis', 0);
      g.outputs = [new ValueInfo(`${tag}_y`, { dtype: 'float32', shape: ['N', F] })];
      return g;
    };
    b.node('If', ['c'], { then_branch: branch('then'), else_branch: branch('else') }, { name: 'branch', outputs: ['y'] });
    b.output('y', 'float32', ['N', F]);
    const m = b.build();
    const before = modelToBytes(m);
    const result = await quantizeModel(m, { mode: 'dynamic' });
    expect(result.preparation!.constantsFolded).toBeGreaterThan(0);
    expect(result.quantized).toEqual(['then_mm', 'else_mm']);
    expect(modelToBytes(m).length / before.length).toBeLessThanOrEqual(0.32);
    expect(await relativeError(before, m, positive)).toBeLessThan(0.04);
  });

  it('quantize-int4: GPTQ calibrates inside If branches and Loop bodies; a branch the data never ran falls back to round-to-nearest, and says so', async () => {
    for (const sequential of [false, true]) {
      const base = { format: 'dq' as const, blockSize: 32, scheme: 'symmetric' as const, accuracyLevel: 0, calibSamples: 64, calibBatch: 64, damp: 0.01, sequential, opTypes: new Set(['MatMul', 'Gemm']), exclude: new Set<string>() };
      const m = ifModel();
      const r = await quantizeModelInt4(m, { ...base, algorithm: 'gptq', calib: memoryDataset(shifted(64, 0.3, 5), [64, F]) });
      const algorithms = Object.fromEntries(r.layers.map((l) => [l.nodes[0], l.algorithm]));
      // else_gemm0 reads h of the main graph, which every sample computes: its Hessian has rows.
      expect(algorithms).toEqual({ pre: 'gptq', then_gemm0: 'gptq', then_gemm1: 'gptq', then_gemm2: 'gptq', else_gemm0: 'gptq', else_gemm1: 'rtn', else_gemm2: 'rtn' });
      expect(r.notes.filter((n) => n.includes('never ran it'))).toHaveLength(2);
      // GPTQ beats round-to-nearest on what it calibrated on, inside the branch too.
      for (const l of r.layers.filter((x) => x.calibError)) expect(l.calibError!.result).toBeLessThan(l.calibError!.rtn);
      const loop = await quantizeModelInt4(loopModel(), { ...base, algorithm: 'gptq', calib: memoryDataset(shifted(64, 0.3, 7), [64, F]) });
      expect(loop.layers.map((l) => l.algorithm)).toEqual(['gptq']);
    }
  });

  it('quantize-int4: reaches the Gemms of both If branches and the Loop body', async () => {
    for (const [make, nodes] of [[ifModel, 7], [loopModel, 1]] as const) {
      const m = make();
      const { stages } = await runPipeline(m, [{ pass: 'quantize-int4', options: { format: 'dq', blockSize: 32 } }]);
      expect(stages[0]!.changes.nodesQuantized).toBe(nodes);
    }
  });
});

describe('capture: values inside bodies', () => {
  it('capture: a value of an If branch comes out when that branch runs (empty otherwise); a Loop body value comes out stacked per iteration', async () => {
    const s = await ort.InferenceSession.create(modelBytesWithOutputs(ifModel(), ['then_h0', 'else_h1', 'h']));
    const out = await s.run({ x: new ort.Tensor('float32', positive, [4, F]) });
    expect([out.then_h0!.dims, out.else_h1!.dims, out.h!.dims]).toEqual([[4, F], [0], [4, F]]);
    const loop = await ort.InferenceSession.create(modelBytesWithOutputs(loopModel(), ['cell_mm', 's']));
    const l = await loop.run({ x: new ort.Tensor('float32', positive, [4, F]) });
    expect([l.cell_mm!.dims, l.s!.dims]).toEqual([[3, 4, F], [3, 4, F]]);
    // The last iteration's state is the Loop's result.
    expect(Array.from((l.cell_mm!.data as Float32Array).subarray(2 * 4 * F)).map(Math.tanh)).toEqual(Array.from(l.y!.data as Float32Array).map((v) => expect.closeTo(v, 5)));
  });
});

describe('quantize: dynamic: Conv, ConvTranspose, LSTM, GRU', () => {
  async function compare(before: Uint8Array, after: Model, name: string, dims: number[]) {
    const x = new ort.Tensor('float32', randomFloats(dims.reduce((a, b) => a * b, 1), 21), dims);
    const run = async (m: Uint8Array) => {
      const s = await ort.InferenceSession.create(m);
      try {
        return (await s.run({ x }))[name]!.data as Float32Array;
      } finally {
        await s.release();
      }
    };
    const [a, b] = [await run(before), await run(modelToBytes(after))];
    const max = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0) / max;
  }

  it('quantize: dynamic: Conv runs as ConvInteger, grouped Conv and ConvTranspose get int8 weights + DequantizeLinear: ≤ 0.30×, close to float', async () => {
    const m = convModel();
    const before = modelToBytes(m);
    const result = await quantizeModel(m, { mode: 'dynamic' });
    expect(result.quantized).toEqual(['conv1', 'conv2', 'up']);
    const ops = m.graph.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === 'ConvInteger')).toHaveLength(1);
    const dequantized = (op: string) => m.graph.nodes.find((n) => n.opType === op)!.inputs[1]!;
    const dqOutputs = m.graph.nodes.filter((n) => n.opType === 'DequantizeLinear').map((n) => n.outputs[0]);
    expect(dqOutputs).toContain(dequantized('Conv'));
    expect(dqOutputs).toContain(dequantized('ConvTranspose'));
    expect(modelToBytes(m).length / before.length).toBeLessThanOrEqual(0.3);
    expect(await compare(before, m, 'y', [2, 16, 8, 8])).toBeLessThan(0.02);
  });

  it('quantize: dynamic: a depthwise Conv keeps float activations, so a quiet channel next to a loud one stays accurate (ConvInteger quantizes them per tensor)', async () => {
    const C = 8;
    const b = new GraphBuilder('depthwise', { opsets: { '': 17 } });
    b.input('x', 'float32', ['N', C, 6, 6]);
    b.initializer('w', randomFloats(C * 9, 5), [C, 1, 3, 3]);
    b.node('Conv', ['x', 'w'], { group: C, pads: [1, 1, 1, 1] }, { name: 'dw', outputs: ['y'] });
    b.output('y', 'float32', ['N', C, 6, 6]);
    const m = b.build();
    const before = modelToBytes(m);
    await quantizeModel(m, { mode: 'dynamic' });
    expect(m.graph.nodes.map((n) => n.opType)).toEqual(['DequantizeLinear', 'Conv']);
    // Channel 0 a thousand times quieter than the rest: its own error must stay at int8 weight error.
    const x = randomFloats(C * 36, 6).map((v, i) => (i < 36 ? v / 1000 : v));
    const run = async (bytes: Uint8Array) => {
      const s = await ort.InferenceSession.create(bytes);
      try {
        return (await s.run({ x: new ort.Tensor('float32', x, [1, C, 6, 6]) })).y!.data as Float32Array;
      } finally {
        await s.release();
      }
    };
    const [want, got] = [(await run(before)).subarray(0, 36), (await run(modelToBytes(m))).subarray(0, 36)];
    const peak = want.reduce((p, v) => Math.max(p, Math.abs(v)), 0);
    expect(want.reduce((e, v, i) => Math.max(e, Math.abs(v - got[i]!)), 0) / peak).toBeLessThan(0.02);
  });

  it('quantize: dynamic: a Conv with 1 input channel (too shallow for a fast integer conv) gets int8 weights + DequantizeLinear instead of staying float', async () => {
    const b = new GraphBuilder('shallow', { opsets: { '': 17 } });
    b.input('x', 'float32', ['N', 1, 64]);
    b.initializer('basis', randomFloats(258 * 64, 8), [258, 1, 64]);
    b.node('Conv', ['x', 'basis'], { strides: [16] }, { name: 'stft', outputs: ['y'] });
    b.output('y', 'float32', ['N', 258, 1]);
    const m = b.build();
    const before = modelToBytes(m);
    const result = await quantizeModel(m, { mode: 'dynamic' });
    expect(result.quantized).toEqual(['stft']);
    expect(m.graph.nodes.map((n) => n.opType)).toEqual(['DequantizeLinear', 'Conv']);
    expect(modelToBytes(m).length / before.length).toBeLessThanOrEqual(0.3);
    expect(await compare(before, m, 'y', [2, 1, 64])).toBeLessThan(0.02);
  });

  it('quantize: dynamic: LSTM runs as DynamicQuantizeLSTM, GRU weights (W, R) become int8 + DequantizeLinear per gate row: ≤ 0.30×, close to float', async () => {
    const m = recurrentModel();
    const before = modelToBytes(m);
    const result = await quantizeModel(m, { mode: 'dynamic' });
    expect(result.quantized).toEqual(['lstm', 'gru']);
    expect(result.weights).toBe(4);
    expect(m.graph.nodes.find((n) => n.name === 'lstm')).toMatchObject({ opType: 'DynamicQuantizeLSTM', domain: 'com.microsoft' });
    const dqs = m.graph.nodes.filter((n) => n.opType === 'DequantizeLinear');
    expect(dqs.map((n) => m.graph.nodes.find((r) => r.inputs.includes(n.outputs[0]!))!.opType)).toEqual(['GRU', 'GRU']);
    expect(dqs.every((n) => n.getInt('axis') === undefined)).toBe(true); // axis 1, the default
    expect(modelToBytes(m).length / before.length).toBeLessThanOrEqual(0.3);
    expect(await compare(before, m, 'y', [5, 3, 16])).toBeLessThan(0.02);
  });
});
