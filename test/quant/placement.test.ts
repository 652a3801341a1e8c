import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { InputError } from '../../src/errors.ts';
import { errorOf } from '../helpers/errors.ts';
import { randomFloats, runModel } from '../helpers/run-model.ts';
import { convNet, randomDataset } from './graphs.ts';

const count = (m: Model, op: string) => m.graph.nodes.filter((n) => n.opType === op).length;

/** Whether the node named `name` reads a dequantized weight (runs in int8). */
function int8(m: Model, name: string): boolean {
  const node = m.graph.nodes.find((n) => n.name === name)!;
  const { producer } = m.graph.index();
  return producer.get(node.inputs[1] ?? '')?.opType === 'DequantizeLinear';
}

type Cost = (m: Model) => number;
/** A/B comparisons from a cost model (time(a) / time(b)), for testing the search itself. */
const compareBy = (cost: Cost, calls: string[] = []) => async (a: Model, b: Model, batches: readonly number[]) => {
  calls.push([a, b].map((m) => ['conv1', 'conv2', 'fc'].filter((n) => int8(m, n)).join('+') || 'float').join(' vs '));
  const ratio = cost(a) / cost(b);
  return batches.map(() => ({ ratio, lo: ratio, hi: ratio }));
};
const int8Layers = (m: Model) => ['conv1', 'conv2', 'fc'].filter((n) => int8(m, n));
/** Each int8 layer saves 100 of 1000, conv2 in int8 costs 500 more. */
const slowConv2: Cost = (m) => 1000 - 100 * int8Layers(m).length + (int8Layers(m).includes('conv2') ? 500 : 0);

describe('quantize: latency-driven placement', () => {
  it('placement: a layer the runtime runs slower in int8 goes back to float, with why; the rest stay int8', async () => {
    const m = convNet();
    const calls: string[] = [];
    const notes: string[] = [];
    const result = await quantizeModel(m, { minConvInputChannels: 0, target: 'speed' }, { calibration: randomDataset([64, 3, 8, 8]), compare: compareBy(slowConv2, calls), note: (n) => notes.push(n) });
    expect(int8(m, 'conv2')).toBe(false);
    expect(int8(m, 'conv1') && int8(m, 'fc')).toBe(true);
    expect(result.placement).toMatchObject({ target: 'speed', batches: [32], plannedSpeedup: [1000 / 1200], finalSpeedup: [1000 / 800], keptFloat: ['conv2'] });
    expect(result.keptFloat.find((k) => k.node === 'conv2')?.reason).toMatch(/^faster in float in onnxruntime: with it in float the model's speed-up was 1\.50× at batch 32 \(1 thread/);
    expect(notes.some((n) => /^placement \(target speed.*in int8 ran 0\.83× at batch 32 fp32, the result 1\.25× at batch 32/.test(n))).toBe(true);
    expect(notes).toContain('placement decision, to replay it without timing (byte-identical output on any machine): floatLayers=conv2');
    expect(notes.find((n) => n.startsWith('placement timings'))).toMatch(/conv1: 0\.92 \(0\.92–0\.92\); conv2 → float: 1\.50 /);
    expect(calls.slice(0, 2)).toEqual(['float vs conv1+conv2+fc', 'conv1+conv2+fc vs conv2+fc']);
  });

  it('placement: a spent time budget tries no layer, names them all untimed, and still times the result against fp32', async () => {
    const m = convNet();
    const calls: string[] = [];
    const notes: string[] = [];
    const result = await quantizeModel(
      m,
      { minConvInputChannels: 0, target: 'speed', placementSeconds: 0 },
      // conv2 would be faster in float (slowConv2), but no layer is tried: every planned layer stays int8.
      { calibration: randomDataset([64, 3, 8, 8]), compare: compareBy((x) => slowConv2(x) - 600 * (int8Layers(x).length > 0 ? 1 : 0), calls), note: (n) => notes.push(n) },
    );
    expect(calls).toEqual(['float vs conv1+conv2+fc']);
    expect(result.placement).toMatchObject({ keptFloat: [], untimed: ['conv1', 'conv2', 'fc'] });
    expect(int8Layers(m)).toEqual(['conv1', 'conv2', 'fc']);
    expect(notes).toContainEqual(expect.stringMatching(/^placement: the time budget \(placementSeconds\) ran out after 1 comparisons; 3 of 3 layers were not tried and stay int8 untimed: conv1, conv2, fc$/));
  });

  it('placement: balanced returns a layer to float only for a gain of 3 % or more, speed for 1 % or more', async () => {
    const calls: string[] = [];
    // conv1 in int8 costs 20 more than it saves (about 2 % of the model).
    const cost: Cost = (m) => 1000 - 100 * int8Layers(m).length + (int8Layers(m).includes('conv1') ? 120 : 0);
    const balanced = convNet();
    await quantizeModel(balanced, { minConvInputChannels: 0 }, { calibration: randomDataset([64, 3, 8, 8]), compare: compareBy(cost, calls) });
    expect(calls).toEqual(['float vs conv1+conv2+fc', 'conv1+conv2+fc vs conv2+fc', 'conv1+conv2+fc vs conv1+fc', 'conv1+conv2+fc vs conv1+conv2']);
    expect(int8(balanced, 'conv1')).toBe(true);
    const speed = convNet();
    await quantizeModel(speed, { minConvInputChannels: 0, target: 'speed' }, { calibration: randomDataset([64, 3, 8, 8]), compare: compareBy(cost) });
    expect(int8(speed, 'conv1')).toBe(false);
    expect(int8(speed, 'conv2') && int8(speed, 'fc')).toBe(true);
  });

  it('placement: when no int8 variant beats fp32, balanced leaves the float model as it was, and says so', async () => {
    const m = convNet();
    const before = modelToBytes(m);
    const notes: string[] = [];
    const result = await quantizeModel(m, { minConvInputChannels: 0 }, { calibration: randomDataset([64, 3, 8, 8]), compare: compareBy((x) => (count(x, 'QuantizeLinear') ? 2000 : 1000)), note: (n) => notes.push(n) });
    expect(result.quantized).toEqual([]);
    expect(modelToBytes(m)).toEqual(before);
    expect(result.keptFloat.map((k) => k.node).sort()).toEqual(['conv1', 'conv2', 'fc']);
    expect(result.keptFloat[0]!.reason).toMatch(/^no int8 placement tried ran as fast as fp32 in onnxruntime \(best 0\.50× at batch 32 fp32/);
    expect(notes).toContain('no node was quantized');
  });

  it('placement: a comparison whose rounds disagree changes nothing', async () => {
    const m = convNet();
    const compare = async (a: Model, b: Model, batches: readonly number[]) => {
      const ratio = slowConv2(a) / slowConv2(b);
      return batches.map(() => ({ ratio, lo: Math.min(ratio, 0.9), hi: Math.max(ratio, 1.1) }));
    };
    const result = await quantizeModel(m, { minConvInputChannels: 0, target: 'speed' }, { calibration: randomDataset([64, 3, 8, 8]), compare });
    expect(result.placement!.keptFloat).toEqual([]);
    expect(int8(m, 'conv1') && int8(m, 'conv2') && int8(m, 'fc')).toBe(true);
  });

  it('placement: batch sizes weigh alike: a gain at one goes float unless the other clearly loses', async () => {
    // Per batch size (1, 32): conv1 in int8 costs 200 at batch 1 only; conv2 in int8 saves 300 at
    // batch 32 but costs 200 at batch 1; fc saves 500 at both (of 2000).
    const cost = (m: Model, batch: number) => {
      const l = int8Layers(m);
      return 2000 + (l.includes('conv1') ? (batch === 1 ? 200 : -100) : 0) + (l.includes('conv2') ? (batch === 1 ? 200 : -300) : 0) - (l.includes('fc') ? 500 : 0);
    };
    const compare = async (a: Model, b: Model, batches: readonly number[]) => batches.map((n) => ({ ratio: cost(a, n) / cost(b, n), lo: cost(a, n) / cost(b, n), hi: cost(a, n) / cost(b, n) }));
    const m = convNet();
    const result = await quantizeModel(m, { minConvInputChannels: 0, placementBatches: ['1', '32'] }, { calibration: randomDataset([64, 3, 8, 8]), compare });
    // conv1: 1.12× at batch 1 in float, 0.92× at 32 (a clear loss) → int8; conv2 alike.
    expect(result.placement!.keptFloat).toEqual([]);
    // Only batch 1 stated: both go float.
    const one = convNet();
    const r1 = await quantizeModel(one, { minConvInputChannels: 0, placementBatches: ['1'] }, { calibration: randomDataset([64, 3, 8, 8]), compare });
    expect(r1.placement!.keptFloat).toEqual(['conv1', 'conv2']);
    expect(r1.placement!.comparisons.every((c) => c.ratios.map((g) => g.batch).join() === '1')).toBe(true);
  });

  it('placement: floatLayers replays a decision without timing, byte for byte; a name that is no planned layer is refused', async () => {
    const timed = convNet();
    const notes: string[] = [];
    await quantizeModel(timed, { minConvInputChannels: 0, target: 'speed' }, { calibration: randomDataset([64, 3, 8, 8]), compare: compareBy(slowConv2), note: (n) => notes.push(n) });
    const replayNote = notes.find((n) => n.startsWith('placement decision'))!;
    const floatLayers = replayNote.split('floatLayers=')[1]!.split(',');
    const replayed = convNet();
    const never = () => Promise.reject(new Error('timed'));
    const result = await quantizeModel(replayed, { minConvInputChannels: 0, target: 'speed', floatLayers }, { calibration: randomDataset([64, 3, 8, 8]), compare: never });
    expect(modelToBytes(replayed)).toEqual(modelToBytes(timed));
    expect(result.placement).toMatchObject({ replayed: true, keptFloat: ['conv2'], comparisons: [] });
    expect(result.keptFloat.find((k) => k.node === 'conv2')?.reason).toMatch(/^float by floatLayers/);
    // Every planned layer named: the float model, as the timed decision gives.
    const all = convNet();
    const before = modelToBytes(all);
    await quantizeModel(all, { minConvInputChannels: 0, floatLayers: ['conv1', 'conv2', 'fc'] }, { calibration: randomDataset([64, 3, 8, 8]), compare: never });
    expect(modelToBytes(all)).toEqual(before);
    const err = await errorOf(quantizeModel(convNet(), { minConvInputChannels: 0, floatLayers: ['conv9'] }, { calibration: randomDataset([64, 3, 8, 8]), compare: never }));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe("quantize: floatLayers names 'conv9', not among the layers placement weighs (conv1, conv2, fc)");
  });

  it('placement: target size measures nothing', async () => {
    const m = convNet();
    const result = await quantizeModel(m, { minConvInputChannels: 0, target: 'size' }, { calibration: randomDataset([64, 3, 8, 8]), compare: () => Promise.reject(new Error('measured')) });
    expect(result.placement).toBeUndefined();
    expect(int8(m, 'conv1') && int8(m, 'conv2') && int8(m, 'fc')).toBe(true);
  });

  it('placement: the accuracy fallback ranks only the layers placement kept in int8', async () => {
    const m = convNet();
    // Accuracy suffers while conv1 is int8: fallback must return it, and never consider conv2.
    const evaluate = async (bytes: Uint8Array) => (int8(await loadModel(bytes), 'conv1') ? 0.5 : 1);
    const result = await quantizeModel(
      m,
      { minConvInputChannels: 0, target: 'speed', maxAccuracyDrop: 1, calibSamples: 32, sensitivitySamples: 16 },
      { calibration: randomDataset([64, 3, 8, 8]), compare: compareBy(slowConv2), evaluate },
    );
    expect(result.fallback!.sensitivity.map((s) => s.node).sort()).toEqual(['conv1', 'fc']);
    expect(result.fallback!.finalDrop).toBe(0);
    expect([int8(m, 'conv1'), int8(m, 'conv2'), int8(m, 'fc')]).toEqual([false, false, true]);
    expect(result.keptFloat.find((k) => k.node === 'conv2')?.reason).toMatch(/^faster in float/);
    expect(result.keptFloat.find((k) => k.node === 'conv1')?.reason).toMatch(/^returned to float by fallback/);
  });

  it('placement: measured in onnxruntime, a 1-channel 5x5 Conv on 32x32 images (far slower in int8) stays float', async () => {
    const b = new GraphBuilder('stem', { opsets: { '': 17 } });
    b.input('x', 'float32', ['N', 1, 32, 32]);
    const w = b.initializer('w', randomFloats(8 * 25, 3), [8, 1, 5, 5]);
    const [c] = b.node('Conv', ['x', w], { pads: [2, 2, 2, 2] }, { name: 'stem' });
    b.node('Relu', [c], {}, { name: 'relu', outputs: ['y'] });
    b.output('y', 'float32', ['N', 8, 32, 32]);
    const m = b.build();
    const result = await quantizeModel(m, { minConvInputChannels: 0, target: 'speed', calibSamples: 16 }, { calibration: randomDataset([16, 1, 32, 32]) });
    expect(Math.max(...result.placement!.plannedSpeedup)).toBeLessThan(1);
    expect(result.quantized).toEqual([]);
    const y = await runModel(await loadModel(modelToBytes(m)), { x: { data: randomFloats(2 * 1024, 5), dims: [2, 1, 32, 32] } });
    expect(y.y!.length).toBe(2 * 8 * 1024);
  });
});

describe('quantize: QDQ around a MatMul/Gemm result only float ops read', () => {
  /** Gemm → (Relu) → float Sigmoid: Sigmoid is not quantized by default. */
  function gemmThenFloat(relu: boolean): Model {
    const b = new GraphBuilder('g', { opsets: { '': 17 } });
    b.input('x', 'float32', ['N', 16]);
    const [g] = b.node('Gemm', ['x', b.initializer('w', randomFloats(16 * 8, 1), [16, 8]), b.initializer('c', randomFloats(8, 2), [8])], {}, { name: 'fc' });
    const [r] = relu ? b.node('Relu', [g], {}, { name: 'relu' }) : [g];
    b.node('Sigmoid', [r!], {}, { name: 'sig', outputs: ['y'] });
    b.output('y', 'float32', ['N', 8]);
    return b.build();
  }

  for (const relu of [false, true]) {
    it(`qdq: ${relu ? 'with a folded Relu, the Q/DQ pair (which is the Relu) stays' : 'no Q/DQ pair on the float result'}; outputs match float`, async () => {
      const m = gemmThenFloat(relu);
      const before = modelToBytes(m);
      await quantizeModel(m, { target: 'size' }, { calibration: randomDataset([64, 16]) });
      expect(count(m, 'QuantizeLinear')).toBe(relu ? 2 : 1);
      const feeds = { x: { data: randomFloats(4 * 16, 9), dims: [4, 16] } };
      const [a, q] = [(await runModel(before, feeds)).y!, (await runModel(m, feeds)).y!];
      expect(Math.max(...a.map((v, i) => Math.abs(v - q[i]!)))).toBeLessThan(0.05);
    });
  }
});

describe('quantize: preparation', () => {
  /** Conv → BatchNormalization → Relu, and MatMul + bias on 2-D. */
  function bnNet(): Model {
    const b = new GraphBuilder('bn', { opsets: { '': 17 } });
    b.input('x', 'float32', ['N', 4, 6, 6]);
    const [c] = b.node('Conv', ['x', b.initializer('w', randomFloats(8 * 4 * 9, 1), [8, 4, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'conv' });
    const p = (name: string, seed: number, base = 0) => b.initializer(name, randomFloats(8, seed).map((v) => base + 0.5 * v), [8]);
    const [bn] = b.node('BatchNormalization', [c, p('g', 2, 1), p('beta', 3), p('mean', 4), p('var', 5, 1)], {}, { name: 'bn' });
    const [r] = b.node('Relu', [bn], {}, { name: 'relu' });
    const [f] = b.node('Flatten', [r], {}, { name: 'flat' });
    const [mm] = b.node('MatMul', [f, b.initializer('w2', randomFloats(288 * 10, 6), [288, 10])], {}, { name: 'mm' });
    b.node('Add', [mm, b.initializer('b2', randomFloats(10, 7), [10])], {}, { name: 'bias', outputs: ['y'] });
    b.output('y', 'float32', ['N', 10]);
    return b.build();
  }

  it('prepare: BatchNormalization folded and MatMul + Add fused before quantizing, noted; the result matches float', async () => {
    const m = bnNet();
    const before = modelToBytes(m);
    const result = await quantizeModel(m, { target: 'size' }, { calibration: randomDataset([64, 4, 6, 6]) });
    expect(result.preparation).toEqual({ constantsFolded: 0, batchNormsFolded: 1, matmulAddsFused: 1 });
    expect(result.notes[0]).toMatch(/^prepared as onnxruntime's quantization pre-processing does: folded 1 BatchNormalization, fused 1 MatMul \+ Add into Gemm/);
    expect(count(m, 'BatchNormalization') + count(m, 'MatMul')).toBe(0);
    expect(int8(m, 'conv') && int8(m, 'bias')).toBe(true);
    // The weights BN folding replaced are gone.
    expect([...m.graph.initializers.keys()].filter((k) => k === 'w' || k === 'g')).toEqual([]);
    const feeds = { x: { data: randomFloats(2 * 144, 9), dims: [2, 4, 6, 6] } };
    const [a, q] = [(await runModel(before, feeds)).y!, (await runModel(m, feeds)).y!];
    const scale = Math.max(...a.map(Math.abs));
    expect(Math.max(...a.map((v, i) => Math.abs(v - q[i]!))) / scale).toBeLessThan(0.1);
  });

  it('prepare: false quantizes the graph as given', async () => {
    const m = bnNet();
    const result = await quantizeModel(m, { target: 'size', prepare: false }, { calibration: randomDataset([64, 4, 6, 6]) });
    expect(result.preparation).toBeUndefined();
    expect(count(m, 'BatchNormalization')).toBe(1);
    expect(count(m, 'MatMul')).toBe(1);
  });
});
