import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { Node } from '../../src/ir/node.ts';
import { ValueInfo } from '../../src/ir/value.ts';
import { inferShapes } from '../../src/ops/infer.ts';
import { randomFloats, runModel } from '../helpers/run-model.ts';

/** A CNN + transformer-ish chain touching most inferred ops, with a concrete batch of 2. */
function zoo() {
  const b = new GraphBuilder('zoo');
  const x = b.input('x', 'float32', [2, 3, 16, 16]);
  const [c] = b.node('Conv', [x, b.initializer('w', randomFloats(8 * 3 * 9), [8, 3, 3, 3])], { strides: [2, 2], pads: [1, 1, 1, 1] });
  const [bn] = b.node('BatchNormalization', [c, ...['g', 'b', 'm', 'v'].map((n) => b.initializer(n, Float32Array.from({ length: 8 }, () => 1), [8]))]);
  const [r] = b.node('Clip', [bn]);
  const [p] = b.node('MaxPool', [r], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' });
  const [ap] = b.node('AveragePool', [p], { kernel_shape: [2, 2], ceil_mode: 1, strides: [3, 3] });
  const [t] = b.node('Transpose', [p], { perm: [0, 2, 3, 1] });
  const [rs] = b.node('Reshape', [t, b.initializer('shape', BigInt64Array.of(0n, -1n, 8n), [3])]);
  const [ln] = b.node('LayerNormalization', [rs, b.initializer('lg', new Float32Array(8).fill(1), [8])], { axis: -1 });
  const [mm] = b.node('MatMul', [ln, b.initializer('wm', randomFloats(8 * 5), [8, 5])]);
  const [sm] = b.node('Softmax', [mm], { axis: -1 });
  const [rm] = b.node('ReduceMean', [sm], { axes: [1], keepdims: 0 });
  const [gp] = b.node('GlobalAveragePool', [ap]);
  const [fl] = b.node('Flatten', [gp]);
  const [gm] = b.node('Gemm', [fl, b.initializer('wg', randomFloats(5 * 8), [5, 8])], { transB: 1 });
  const [cat] = b.node('Concat', [gm, rm], { axis: 1 });
  const [us] = b.node('Unsqueeze', [cat, b.initializer('ax', BigInt64Array.of(1n), [1])]);
  const [q] = b.node('QuantizeLinear', [us, b.initializer('s', Float32Array.of(0.1), []), b.initializer('z', Int8Array.of(0), [])]);
  const [dq] = b.node('DequantizeLinear', [q, 's', 'z']);
  b.output(dq, 'float32', [2, 1, 10]);
  for (const o of [c, p, ap, rs, mm, rm, fl, gm, cat]) b.output(o, 'float32', []);
  const model = b.build();
  // Outputs declared without shapes: inference must find them, and ORT reports its own.
  for (const o of model.graph.outputs) o.type = { dtype: 'float32', shape: undefined };
  return model;
}

describe('shape inference', () => {
  it('infer: shapes match what onnxruntime actually produces', async () => {
    const model = zoo();
    const types = inferShapes(model);
    const outs = await runModel(model, { x: { data: randomFloats(2 * 3 * 16 * 16), dims: [2, 3, 16, 16] } });
    for (const o of model.graph.outputs) {
      const inferred = types.get(o.name)!.shape as number[];
      expect(inferred.every((d) => typeof d === 'number'), o.name).toBe(true);
      expect(outs[o.name].length, o.name).toBe(inferred.reduce((a, b) => a * b, 1));
    }
    expect(types.get(model.graph.nodes[0].outputs[0])!.shape).toEqual([2, 8, 8, 8]);
    expect(types.get(model.graph.nodes[6].outputs[0])!.shape).toEqual([2, 16, 8]);
    expect(types.get(model.graph.nodes.at(-1)!.outputs[0])).toEqual({ dtype: 'float32', shape: [2, 1, 10] });
  });

  it('infer: symbolic batch dims flow through', () => {
    const b = new GraphBuilder('sym');
    const x = b.input('x', 'float32', ['N', 4]);
    const [y] = b.node('MatMul', [x, b.initializer('w', randomFloats(12), [4, 3])]);
    const [z] = b.node('Add', [y, b.initializer('c', randomFloats(3), [3])]);
    b.output(z, 'float32', ['N', 3]);
    expect(inferShapes(b.build()).get(z)).toEqual({ dtype: 'float32', shape: ['N', 3] });
  });

  it('infer: a Reshape target computed from Shape → Gather/Slice → Concat gives a shape, free dims symbolic', async () => {
    const b = new GraphBuilder('computed');
    const x = b.input('x', 'float32', ['N', 4, 3, 'W']);
    const i64 = (name: string, ...v: number[]) => b.initializer(name, BigInt64Array.from(v, BigInt), [v.length]);
    const [shape] = b.node('Shape', [x]);
    // [N, 4·3, W]: Slice[0:1] ++ Gather(1)·Gather(2) ++ Gather(-1), through an int32 Cast as paddle2onnx writes it.
    const [n] = b.node('Cast', [b.node('Slice', [b.node('Cast', [shape!], { to: 6 })[0]!, i64('s0', 0), i64('s1', 1)])[0]!], { to: 7 });
    const [c] = b.node('Mul', [b.node('Gather', [shape!, i64('one', 1)])[0]!, b.node('Gather', [shape!, i64('two', 2)])[0]!]);
    const [w] = b.node('Gather', [shape!, i64('last', -1)]);
    const [target] = b.node('Concat', [n!, c!, w!], { axis: 0 });
    const [y] = b.node('Reshape', [x, target!]);
    b.output(y!, 'float32', []);
    const m = b.build();
    m.graph.outputs[0]!.type = { dtype: 'float32', shape: undefined };
    expect(inferShapes(m).get(y!)?.shape).toEqual(['N', 12, 'W']);
    const out = await runModel(m, { x: { data: randomFloats(2 * 12 * 5), dims: [2, 4, 3, 5] } });
    expect(out[y!]!.length).toBe(2 * 12 * 5);
  });

  it('infer: unknown ops keep the shapes the model declares', () => {
    const b = new GraphBuilder('custom');
    const x = b.input('x', 'float32', ['N', 4]);
    const [y] = b.node('MyOp', [x], {}, { domain: 'com.example' });
    const [z] = b.node('Relu', [y]);
    b.output(z, 'float32', ['N', 7]);
    const m = b.build();
    m.opsets.set('com.example', 1);
    m.graph.valueInfo.push(new ValueInfo(y, { dtype: 'float32', shape: ['N', 7] }));
    expect(inferShapes(m).get(z)).toEqual({ dtype: 'float32', shape: ['N', 7] });
  });

  it('infer: an impossible shape is reported with the node name', () => {
    const b = new GraphBuilder('bad');
    const x = b.input('x', 'float32', [2, 3]);
    const [y] = b.node('Add', [x, b.initializer('c', randomFloats(4), [4])], {}, { name: 'bad_add' });
    b.output(y, 'float32', [2, 4]);
    expect(() => inferShapes(b.build())).toThrow(/node 'bad_add' \(Add\): shapes cannot broadcast: dimension 3 vs 4/);
  });

  it('infer: a Reshape that cannot divide its input is refused', () => {
    const b = new GraphBuilder('badreshape');
    const x = b.input('x', 'float32', [2, 5]);
    const [y] = b.node('Reshape', [x, b.initializer('s', BigInt64Array.of(3n, -1n), [2])], {}, { name: 'rs' });
    b.output(y, 'float32', []);
    expect(() => inferShapes(b.build())).toThrow(/node 'rs'/);
  });

  it('infer: Node helper reads int64 attributes beyond 2^53 as safe numbers', () => {
    const n = new Node('Slice', [], []);
    n.attributes.push({ name: 'ends', type: 'ints', value: [9223372036854775807n], proto: {} });
    expect(n.getInts('ends')).toEqual([Number.MAX_SAFE_INTEGER]);
  });
});

describe('broadcast', () => {
  it('infer: an unknown dimension is not mistaken for 1', async () => {
    const { broadcast } = await import('../../src/ops/shape-math.ts');
    expect(broadcast([undefined, 100], [100])).toEqual([undefined, 100]);
    expect(broadcast(['N', 1, 5], [3, 1])).toEqual(['N', 3, 5]);
    expect(broadcast([undefined, 4], [1, 4])).toEqual([undefined, 4]);
    expect(broadcast([undefined, 1], [7, 1])).toEqual([7, 1]);
  });
});
