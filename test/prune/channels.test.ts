/**
 * Structured channel pruning on hand-built graphs. Which channels survived is read back
 * from the biases (every value distinct); the expected weights are the originals gathered
 * at those channels, and the expected outputs come from the original model with the
 * removed channels' input weights zeroed — all computed here, not by the pruning code.
 */
import { describe, expect, it } from 'vitest';
import { float, GraphBuilder } from '../../src/ir/builder.ts';
import { Graph } from '../../src/ir/graph.ts';
import type { Model } from '../../src/ir/model.ts';
import { Node } from '../../src/ir/node.ts';
import { ValueInfo } from '../../src/ir/value.ts';
import { InputError } from '../../src/errors.ts';
import { analyzeChannels } from '../../src/prune/channel-graph.ts';
import { pruneModel } from '../../src/prune/prune.ts';
import { maxOutputDiff, randomFloats } from '../helpers/run-model.ts';
import { bn, complement, conv, copyOf, dimsOf, gathered, input, memoryDataset, miniLenet, relu, survivors, values, w, zeroSlices } from './graphs.ts';

type Feeds = ReturnType<typeof input>;

/** The pruned model matches the masked original and differs from the unmasked one. */
async function expectMasked(original: Model, pruned: Model, reference: Model, feeds: Feeds) {
  expect(await maxOutputDiff(reference, pruned, feeds)).toBeLessThan(1e-4);
  expect(await maxOutputDiff(original, pruned, feeds)).toBeGreaterThan(1e-3);
}

describe('prune channels', () => {
  it('prune: channels shrink Conv, BatchNormalization, the next Conv and Flatten→Gemm blocks together', async () => {
    const m0 = miniLenet();
    const m1 = await copyOf(m0);
    const r = await pruneModel(m1, { channels: 0.5 });
    const k1 = survivors(m0, m1, 'conv1.bias', 'conv1.bias', 0);
    const k2 = survivors(m0, m1, 'conv2.bias', 'conv2.bias', 0);
    const k3 = survivors(m0, m1, 'fc1.bias', 'fc1.bias', 0);
    expect([k1.length, k2.length, k3.length]).toEqual([3, 4, 6]);
    expect(values(m1, 'conv1.weight')).toEqual(gathered(m0, 'conv1.weight', [k1]));
    for (const p of ['gamma', 'beta', 'mean', 'var']) expect(values(m1, `bn1.${p}`)).toEqual(gathered(m0, `bn1.${p}`, [k1]));
    expect(values(m1, 'conv2.weight')).toEqual(gathered(m0, 'conv2.weight', [k2, k1]));
    // Flatten of [N, 8, 4, 4]: channel c owns features 16c … 16c+15.
    const blocks = k2.flatMap((c) => Array.from({ length: 16 }, (_, i) => c * 16 + i));
    expect(values(m1, 'fc1.weight')).toEqual(gathered(m0, 'fc1.weight', [k3, blocks]));
    expect(values(m1, 'fc2.weight')).toEqual(gathered(m0, 'fc2.weight', [undefined, k3]));
    expect(dimsOf(m1, 'fc2.weight')).toEqual([10, 6]);
    expect(r.paramsAfter).toBeLessThan(r.paramsBefore * 0.5);
    expect(r.notes.join()).toMatch(/'fc2' kept: graph output/);

    const ref = await copyOf(m0);
    zeroSlices(ref, 'conv2.weight', 1, complement(6, k1));
    zeroSlices(ref, 'fc1.weight', 1, complement(128, blocks));
    zeroSlices(ref, 'fc2.weight', 1, complement(12, k3));
    await expectMasked(m0, m1, ref, input([3, 1, 8, 8]));
  });

  it('prune: residual Add prunes both branches with the same channels', async () => {
    const b = new GraphBuilder('residual');
    const x = b.input('x', 'float32', ['N', 4, 6, 6]);
    const a = relu(b, conv(b, 'convA', x, 4, 8));
    const c = bn(b, 'bnB', conv(b, 'convB', a, 8, 8), 8);
    const [sum] = b.node('Add', [a, c], {}, { name: 'add' });
    const y = conv(b, 'convC', relu(b, sum!), 8, 5);
    const [pooled] = b.node('GlobalAveragePool', [y]);
    b.node('Flatten', [pooled!], {}, { outputs: ['out'] });
    b.output('out', 'float32', ['N', 5]);
    const m0 = b.build();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5 });
    const kA = survivors(m0, m1, 'convA.bias', 'convA.bias', 0);
    const kB = survivors(m0, m1, 'convB.bias', 'convB.bias', 0);
    expect(kA).toHaveLength(4);
    expect(kB).toEqual(kA);
    expect(values(m1, 'convB.weight')).toEqual(gathered(m0, 'convB.weight', [kA, kA]));
    expect(values(m1, 'convC.weight')).toEqual(gathered(m0, 'convC.weight', [undefined, kA]));
    expect(values(m1, 'bnB.gamma')).toEqual(gathered(m0, 'bnB.gamma', [kA]));
    const ref = await copyOf(m0);
    zeroSlices(ref, 'convB.weight', 1, complement(8, kA));
    zeroSlices(ref, 'convC.weight', 1, complement(8, kA));
    await expectMasked(m0, m1, ref, input([2, 4, 6, 6]));
  });

  it('prune: Concat keeps each input’s channels at its offset', async () => {
    const b = new GraphBuilder('concat');
    const x = b.input('x', 'float32', ['N', 4, 6, 6]);
    const a = relu(b, conv(b, 'convA', x, 4, 6));
    const c = relu(b, conv(b, 'convB', x, 4, 4));
    const [cat] = b.node('Concat', [a, c], { axis: 1 }, { name: 'cat' });
    const scale = b.initializer('scale', randomFloats(10, 5), [1, 10, 1, 1]);
    const [scaled] = b.node('Mul', [cat!, scale], {}, { name: 'scale_mul' });
    b.node('Conv', [scaled!, w(b, 'convC.weight', [3, 10, 1, 1])], { kernel_shape: [1, 1] }, { name: 'convC', outputs: ['out'] });
    b.output('out', 'float32', ['N', 3, 6, 6]);
    const m0 = b.build();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5 });
    const kA = survivors(m0, m1, 'convA.bias', 'convA.bias', 0);
    const kB = survivors(m0, m1, 'convB.bias', 'convB.bias', 0);
    expect([kA.length, kB.length]).toEqual([3, 2]);
    const positions = [...kA, ...kB.map((k) => 6 + k)];
    expect(values(m1, 'convC.weight')).toEqual(gathered(m0, 'convC.weight', [undefined, positions]));
    expect(values(m1, 'scale')).toEqual(gathered(m0, 'scale', [undefined, positions]));
    const ref = await copyOf(m0);
    zeroSlices(ref, 'convC.weight', 1, complement(10, positions));
    await expectMasked(m0, m1, ref, input([2, 4, 6, 6]));
  });

  it('prune: depthwise Conv keeps one channel per kept input channel and its group count follows', async () => {
    const b = new GraphBuilder('depthwise');
    const x = b.input('x', 'float32', ['N', 3, 8, 8]);
    const a = relu(b, conv(b, 'conv1', x, 3, 8));
    const d = relu(b, conv(b, 'dw', a, 8, 8, { group: 8 }));
    b.node('Conv', [d, w(b, 'pw.weight', [6, 8, 1, 1])], { kernel_shape: [1, 1] }, { name: 'pw', outputs: ['out'] });
    b.output('out', 'float32', ['N', 6, 8, 8]);
    const m0 = b.build();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5 });
    const k1 = survivors(m0, m1, 'conv1.bias', 'conv1.bias', 0);
    expect(k1).toHaveLength(4);
    expect(survivors(m0, m1, 'dw.bias', 'dw.bias', 0)).toEqual(k1);
    expect(dimsOf(m1, 'dw.weight')).toEqual([4, 1, 3, 3]);
    expect(m1.graph.nodes.find((n) => n.name === 'dw')!.getInt('group')).toBe(4);
    expect(values(m1, 'pw.weight')).toEqual(gathered(m0, 'pw.weight', [undefined, k1]));
    const ref = await copyOf(m0);
    zeroSlices(ref, 'pw.weight', 1, complement(8, k1));
    await expectMasked(m0, m1, ref, input([2, 3, 8, 8]));
  });

  it('prune: grouped Conv (2 groups of 4) loses whole groups', async () => {
    const b = new GraphBuilder('grouped');
    const x = b.input('x', 'float32', ['N', 3, 8, 8]);
    const a = relu(b, conv(b, 'conv1', x, 3, 8));
    const gc = relu(b, conv(b, 'gconv', a, 8, 8, { group: 2 }));
    b.node('Conv', [gc, w(b, 'conv3.weight', [6, 8, 1, 1])], { kernel_shape: [1, 1] }, { name: 'conv3', outputs: ['out'] });
    b.output('out', 'float32', ['N', 6, 8, 8]);
    const m0 = b.build();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5 });
    const k1 = survivors(m0, m1, 'conv1.bias', 'conv1.bias', 0);
    const kg = survivors(m0, m1, 'gconv.bias', 'gconv.bias', 0);
    expect([[0, 1, 2, 3], [4, 5, 6, 7]]).toContainEqual(k1);
    expect(kg).toEqual(k1);
    expect(m1.graph.nodes.find((n) => n.name === 'gconv')!.getInt('group')).toBe(1);
    expect(values(m1, 'gconv.weight')).toEqual(gathered(m0, 'gconv.weight', [kg]));
    const ref = await copyOf(m0);
    zeroSlices(ref, 'conv3.weight', 1, complement(8, kg));
    await expectMasked(m0, m1, ref, input([2, 3, 8, 8]));
  });

  it('prune: Reshape to [-1, 64] and an NHWC Transpose→Reshape feed Gemm blocks and strides', async () => {
    for (const nhwc of [false, true]) {
      const b = new GraphBuilder('reshape');
      const x = b.input('x', 'float32', ['N', 2, 4, 4]);
      let h = relu(b, conv(b, 'conv', x, 2, 4));
      if (nhwc) h = b.node('Transpose', [h], { perm: [0, 2, 3, 1] }, { name: 'to_nhwc' })[0]!;
      const shape = b.initializer('target', BigInt64Array.of(-1n, 64n), [2]);
      const [flat] = b.node('Reshape', [h, shape], {}, { name: 'flatten' });
      b.node('Gemm', [flat!, w(b, 'fc.weight', [3, 64])], { transB: 1 }, { name: 'fc', outputs: ['out'] });
      b.output('out', 'float32', ['N', 3]);
      const m0 = b.build();
      const m1 = await copyOf(m0);
      await pruneModel(m1, { channels: 0.5 });
      const k = survivors(m0, m1, 'conv.bias', 'conv.bias', 0);
      // NCHW: channel c owns features 16c…16c+15; NHWC: every 4th feature from c.
      const features = nhwc ? [...Array(64).keys()].filter((f) => k.includes(f % 4)) : k.flatMap((c) => Array.from({ length: 16 }, (_, i) => c * 16 + i));
      expect(values(m1, 'fc.weight')).toEqual(gathered(m0, 'fc.weight', [undefined, features]));
      expect(Array.from(m1.graph.initializers.get('target')!.typed() as BigInt64Array, Number)).toEqual([-1, 32]);
      const ref = await copyOf(m0);
      zeroSlices(ref, 'fc.weight', 1, complement(64, features));
      await expectMasked(m0, m1, ref, input([2, 2, 4, 4]));
    }
  });

  it('prune: MatMul + Add bias neurons shrink with the next MatMul', async () => {
    const b = new GraphBuilder('mlp');
    const x = b.input('x', 'float32', ['N', 10]);
    const [mm] = b.node('MatMul', [x, w(b, 'fc1.weight', [10, 8])], {}, { name: 'fc1' });
    const [h] = b.node('Add', [mm!, w(b, 'fc1.bias', [8])], {}, { name: 'fc1.add' });
    b.node('MatMul', [relu(b, h!), w(b, 'fc2.weight', [8, 4])], {}, { name: 'fc2', outputs: ['out'] });
    b.output('out', 'float32', ['N', 4]);
    const m0 = b.build();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5 });
    const k = survivors(m0, m1, 'fc1.bias', 'fc1.bias', 0);
    expect(values(m1, 'fc1.weight')).toEqual(gathered(m0, 'fc1.weight', [undefined, k]));
    expect(values(m1, 'fc2.weight')).toEqual(gathered(m0, 'fc2.weight', [k]));
    const ref = await copyOf(m0);
    zeroSlices(ref, 'fc2.weight', 0, complement(8, k));
    await expectMasked(m0, m1, ref, input([3, 10]));
  });

  function splitHeads(): Model {
    const b = new GraphBuilder('split');
    const x = b.input('x', 'float32', ['N', 3, 4, 4]);
    const h = relu(b, conv(b, 'conv1', x, 3, 8));
    const h2 = relu(b, conv(b, 'conv2', h, 8, 8));
    const shape = b.initializer('heads', BigInt64Array.of(0n, 2n, 4n, 16n), [4]);
    const [r] = b.node('Reshape', [h2, shape], {}, { name: 'split_heads' });
    b.node('Softmax', [r!], { axis: -1 }, { outputs: ['out'] });
    b.output('out', 'float32', ['N', 2, 4, 16]);
    return b.build();
  }

  it('prune: a Reshape that splits the channel axis is refused, naming the node', async () => {
    const m = splitHeads();
    const err = await pruneModel(m, { channels: 0.5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/'conv2'.*'split_heads' \(Reshape\).*splits the channel axis/);
    expect(dimsOf(m, 'conv2.weight')).toEqual([8, 8, 3, 3]); // nothing was changed
  });

  it('prune: unsupported=skip leaves those channels and prunes the rest', async () => {
    const m0 = splitHeads();
    const m1 = await copyOf(m0);
    const r = await pruneModel(m1, { channels: 0.5, unsupported: 'skip' });
    expect(dimsOf(m1, 'conv2.weight')).toEqual([8, 4, 3, 3]);
    expect(dimsOf(m1, 'conv1.weight')).toEqual([4, 3, 3, 3]);
    expect(r.notes.join()).toMatch(/'conv2' kept: not followed: .*split_heads/);
  });

  it('prune: a value that is a graph output keeps its channels', async () => {
    const m0 = miniLenet();
    const conv1 = m0.graph.nodes.find((n) => n.name === 'conv1')!;
    m0.graph.outputs.push(new ValueInfo(conv1.outputs[0]!, { dtype: 'float32', shape: ['N', 6, 8, 8] }));
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5 });
    expect(dimsOf(m1, 'conv1.weight')).toEqual([6, 1, 3, 3]);
    expect(dimsOf(m1, 'conv2.weight')).toEqual([4, 6, 3, 3]);
  });

  it('prune: channels read inside a subgraph keep their channels', async () => {
    const b = new GraphBuilder('subgraph');
    const x = b.input('x', 'float32', ['N', 3, 4, 4]);
    const a = relu(b, conv(b, 'conv1', x, 3, 6), 'act1');
    const c = relu(b, conv(b, 'conv2', a, 6, 6));
    b.node('Conv', [c, w(b, 'conv3.weight', [2, 6, 1, 1])], { kernel_shape: [1, 1] }, { name: 'conv3', outputs: ['y'] });
    b.output('y', 'float32', ['N', 2, 4, 4]);
    const branch = (op: string) => {
      const g = new Graph(`${op}_branch`);
      g.nodes.push(new Node(op, [a], [`${op}_out`], `${op}_in_branch`));
      g.outputs.push(new ValueInfo(`${op}_out`, { dtype: 'float32', shape: undefined }));
      return g;
    };
    const cond = b.initializer('cond', Uint8Array.of(1), []);
    b.graph.initializers.get(cond)!.dtype = 'bool';
    b.node('If', [cond], { then_branch: branch('Relu'), else_branch: branch('Neg') }, { name: 'if', outputs: ['z'] });
    b.output('z', 'float32', ['N', 6, 4, 4]);
    const m0 = b.build();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5 });
    expect(dimsOf(m1, 'conv1.weight')).toEqual([6, 3, 3, 3]);
    expect(dimsOf(m1, 'conv2.weight')).toEqual([3, 6, 3, 3]);
    expect(dimsOf(m1, 'conv3.weight')).toEqual([2, 3, 1, 1]);
  });

  it('prune: criterion bn keeps the channels with the largest |gamma|', async () => {
    const b = new GraphBuilder('bn');
    const x = b.input('x', 'float32', ['N', 2, 4, 4]);
    const h = conv(b, 'conv1', x, 2, 4);
    const gamma = b.initializer('bn.gamma', Float32Array.of(0.01, 3, 0.02, 2), [4]);
    const [y] = b.node('BatchNormalization', [h, gamma, w(b, 'bn.beta', [4]), w(b, 'bn.mean', [4]), b.initializer('bn.var', Float32Array.of(1, 1, 1, 1), [4])], {}, { name: 'bn' });
    b.node('Conv', [relu(b, y!), w(b, 'conv2.weight', [2, 4, 1, 1])], { kernel_shape: [1, 1] }, { name: 'conv2', outputs: ['out'] });
    b.output('out', 'float32', ['N', 2, 4, 4]);
    const m0 = b.build();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5, criterion: 'bn' });
    expect(survivors(m0, m1, 'conv1.bias', 'conv1.bias', 0)).toEqual([1, 3]);
  });

  it('prune: skip and per-layer channel fractions; a layer keeps at least one channel', async () => {
    const m = miniLenet();
    const r = await pruneModel(m, { channels: 0.5, skip: ['conv1'], layerChannels: { fc1: 0.25 } });
    expect(dimsOf(m, 'conv1.weight')).toEqual([6, 1, 3, 3]);
    expect(dimsOf(m, 'fc1.weight')).toEqual([9, 64]);
    expect(r.layers.find((l) => l.node === 'fc1')).toMatchObject({ channelsBefore: 12, channelsAfter: 9 });
    const tiny = miniLenet();
    await pruneModel(tiny, { channels: 0.99 });
    expect(dimsOf(tiny, 'conv1.weight')![0]).toBeGreaterThanOrEqual(1);
    expect(dimsOf(tiny, 'conv2.weight')![0]).toBe(1);
  });

  it('prune: unknown layer names are refused with the list of layers', async () => {
    await expect(pruneModel(miniLenet(), { channels: 0.5, skip: ['nope'] })).rejects.toThrow(/skip names 'nope'.*layers: conv1, conv2, fc1, fc2/);
  });

  it('prune: a weight shared by two layers keeps its channels', async () => {
    const b = new GraphBuilder('shared');
    const x = b.input('x', 'float32', ['N', 4]);
    const shared = w(b, 'shared.weight', [4, 4]);
    const [h1] = b.node('MatMul', [x, shared], {}, { name: 'mm1' });
    const [h2] = b.node('MatMul', [relu(b, h1!), shared], {}, { name: 'mm2' });
    b.node('MatMul', [relu(b, h2!), w(b, 'head.weight', [4, 2])], {}, { name: 'head', outputs: ['out'] });
    b.output('out', 'float32', ['N', 2]);
    const m = b.build();
    const r = await pruneModel(m, { channels: 0.5 });
    expect(r.channelsRemoved).toBe(0);
    expect(dimsOf(m, 'shared.weight')).toEqual([4, 4]);
  });
});

describe('prune channels: bias compensation', () => {
  /** fc1 has 4 constant neurons (zero weights, positive bias): the L1 ranking removes them first. */
  function constantNeurons(asMatMul: boolean): Model {
    const b = new GraphBuilder('const-neurons');
    const x = b.input('x', 'float32', ['N', 5]);
    const wv = randomFloats(8 * 5, 3).map((v, i) => (Math.floor(i / 5) % 2 === 0 ? 0 : v + Math.sign(v)));
    const w1 = b.initializer('fc1.weight', wv, [8, 5]);
    const b1 = b.initializer('fc1.bias', Float32Array.from({ length: 8 }, (_, i) => 0.5 + i / 10), [8]);
    const [h] = b.node('Gemm', [x, w1, b1], { transB: 1 }, { name: 'fc1' });
    const r = relu(b, h!);
    if (asMatMul) b.node('MatMul', [r, w(b, 'fc2.weight', [8, 3])], {}, { name: 'fc2', outputs: ['out'] });
    else b.node('Gemm', [r, w(b, 'fc2.weight', [3, 8]), w(b, 'fc2.bias', [3])], { transB: 1, alpha: 0.5, beta: float(2) }, { name: 'fc2', outputs: ['out'] });
    b.output('out', 'float32', ['N', 3]);
    return b.build();
  }

  for (const asMatMul of [false, true]) {
    it(`prune: removed constant neurons are folded into the next ${asMatMul ? 'MatMul (a bias Add is added)' : 'Gemm’s bias (alpha/beta honoured)'}`, async () => {
      const m0 = constantNeurons(asMatMul);
      const calibration = memoryDataset(randomFloats(40 * 5, 8), [40, 5]);
      const plain = await copyOf(m0);
      await pruneModel(plain, { channels: 0.5 });
      const compensated = await copyOf(m0);
      const r = await pruneModel(compensated, { channels: 0.5 }, { calibration });
      expect(r.notes.join()).toMatch(/biases of 1 layer\(s\) compensated/);
      expect(dimsOf(compensated, 'fc1.weight')).toEqual([4, 5]);
      const feeds = input([6, 5], 11);
      expect(await maxOutputDiff(m0, plain, feeds)).toBeGreaterThan(0.1);
      expect(await maxOutputDiff(m0, compensated, feeds)).toBeLessThan(1e-5);
      if (asMatMul) expect(compensated.graph.nodes.map((n) => n.opType)).toEqual(['Gemm', 'Relu', 'MatMul', 'Add']);
    });
  }
});

describe('prune channels: bias compensation in Conv', () => {
  it('prune: a Conv without bias reading removed constant channels gets one', async () => {
    const b = new GraphBuilder('conv-const');
    const x = b.input('x', 'float32', ['N', 2, 4, 4]);
    const wv = randomFloats(6 * 2, 5).map((v, i) => (Math.floor(i / 2) < 3 ? 0 : v + Math.sign(v)));
    const w1 = b.initializer('conv1.weight', wv, [6, 2, 1, 1]);
    const b1 = b.initializer('conv1.bias', Float32Array.of(0.5, 0.7, 0.9, 0.1, 0.2, 0.3), [6]);
    const [h] = b.node('Conv', [x, w1, b1], { kernel_shape: [1, 1] }, { name: 'conv1' });
    b.node('Conv', [relu(b, h!), w(b, 'conv2.weight', [3, 6, 1, 1])], { kernel_shape: [1, 1] }, { name: 'conv2', outputs: ['out'] });
    b.output('out', 'float32', ['N', 3, 4, 4]);
    const m0 = b.build();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5 }, { calibration: memoryDataset(randomFloats(8 * 32, 2), [8, 2, 4, 4]) });
    expect(survivors(m0, m1, 'conv1.bias', 'conv1.bias', 0)).toEqual([3, 4, 5]);
    expect(m1.graph.nodes.find((n) => n.name === 'conv2')!.inputs).toHaveLength(3);
    expect(await maxOutputDiff(m0, m1, input([2, 2, 4, 4]))).toBeLessThan(1e-5);
  });

  it('prune: channels cross an op by its channel rule in the op table, and stop at an op that has none', () => {
    /** Notes of a conv → op → conv chain: channels of 'c1' are kept only if they cannot cross `op`. */
    const notesThrough = (op: string, extra: (b: GraphBuilder) => string[] = () => [], attrs: Record<string, number[] | number> = {}) => {
      const b = new GraphBuilder('rule', { opsets: { '': 18 } });
      const x = b.input('x', 'float32', [1, 3, 8, 8]);
      const [y] = b.node(op, [conv(b, 'c1', x, 3, 6), ...extra(b)], attrs);
      b.output(conv(b, 'c2', y!, 6, 4, { k: 1 }), 'float32', [1, 4, undefined, undefined]);
      return analyzeChannels(b.build(), 'skip').notes.join('; ');
    };
    const scales = (b: GraphBuilder) => ['', b.initializer('scales', Float32Array.of(1, 1, 2, 2), [4])];
    const cases: Array<[string, ((b: GraphBuilder) => string[])?, Record<string, number[]>?]> = [
      ['Mish'],
      ['Softsign'],
      ['Celu'],
      ['ThresholdedRelu'],
      ['Sum', (b: GraphBuilder) => [w(b, 'shift', [6, 1, 1])]],
      ['LpPool', undefined, { kernel_shape: [2, 2] }],
      ['GlobalLpPool'],
      ['Resize', scales],
    ];
    for (const [op, extra, attrs] of cases) {
      expect(notesThrough(op, extra, attrs), op).not.toMatch(/'c1'/);
    }
    expect(notesThrough('LRN', undefined, { size: 3 })).toMatch(/channels of 'c1' kept: LRN is not known to keep channels apart/);
  });
});
