/**
 * tfjs executor: QuantizeLinear/DequantizeLinear as fake quantization (straight-through
 * gradient, zero outside the integer range), int8 weights trained as float shadows and
 * written back as int8, and unsupported ops refused all at once before anything runs.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.ts';
import { GraphBuilder } from '../../../src/ir/builder.ts';
import { TrainableGraph } from '../../../src/runtime/tfjs/executor.ts';
import { initTrainingBackend } from '../../../src/train/backend.ts';
import { runModel } from '../../helpers/run-model.ts';

beforeAll(() => initTrainingBackend());

describe('tfjs executor: fake quantization', () => {
  it('Q→DQ forward equals onnxruntime; gradient is 1 inside the int8 range and 0 outside', async () => {
    const b = new GraphBuilder('qdq');
    const x = b.input('x', 'float32', [8]);
    const s = b.initializer('s', Float32Array.of(0.1), []);
    const zp = b.initializer('zp', Int8Array.of(3), []);
    const [q] = b.node('QuantizeLinear', [x, s, zp]);
    b.node('DequantizeLinear', [q!, s, zp], {}, { outputs: ['y'] });
    b.output('y', 'float32', [8]);
    const model = b.build();
    // In range: -13.1 .. 12.4 (int8 with zero point 3 at scale 0.1).
    const values = Float32Array.of(-20, -13.5, -1.26, -0.04, 0.05, 0.151, 12.3, 30);
    const ref = (await runModel(model, { x: { data: values, dims: [8] } })).y!;
    const g = new TrainableGraph(model);
    const y = tf.tidy(() => g.run({ x: tf.tensor(values) }).y!.nchw().dataSync());
    expect(Array.from(y)).toEqual(Array.from(ref));
    const grad = tf.tidy(() => tf.grad((t: tf.Tensor) => g.run({ x: t }).y!.nchw().sum())(tf.tensor(values)).dataSync());
    expect(Array.from(grad)).toEqual([0, 0, 1, 1, 1, 1, 1, 0]);
    g.dispose();
  });

  it('an int8 weight behind DequantizeLinear trains as a float shadow and is written back as int8 (per-channel)', async () => {
    const b = new GraphBuilder('qweight');
    const x = b.input('x', 'float32', [2, 2]);
    const w = b.initializer('w', Int8Array.of(10, -20, 30, 40, -50, 60), [2, 3]);
    const s = b.initializer('ws', Float32Array.of(0.01, 0.02), [2]);
    const zp = b.initializer('wz', Int8Array.of(0, 0), [2]);
    const [wf] = b.node('DequantizeLinear', [w, s, zp], { axis: 0 });
    b.node('MatMul', [x, wf!], {}, { outputs: ['y'] });
    b.output('y', 'float32', [2, 3]);
    const model = b.build();
    const g = new TrainableGraph(model);
    expect([...g.params.keys()]).toEqual(['w']);
    const ones = tf.ones([2, 2]);
    const before = tf.tidy(() => g.run({ x: ones }).y!.nchw().dataSync());
    const ref = (await runModel(model, { x: { data: new Float32Array(4).fill(1), dims: [2, 2] } })).y!;
    expect(Array.from(before)).toEqual(Array.from(ref));
    // Move the shadow by +1.4 quantization steps on row 0 and −0.6 on row 1, then write back.
    g.params.get('w')!.assign(tf.tidy(() => g.params.get('w')!.add(tf.tensor([[0.014, 0.014, 0.014], [-0.012, -0.012, -0.012]]))));
    g.writeBack();
    const written = model.graph.initializers.get('w')!;
    expect(written.dtype).toBe('int8');
    expect(Array.from(written.typed() as Int8Array)).toEqual([11, -19, 31, 39, -51, 59]);
    g.dispose();
  });

  it('with quantAware off, integer weights stay constants', () => {
    const b = new GraphBuilder('frozen');
    const x = b.input('x', 'float32', [1, 2]);
    const w = b.initializer('w', Int8Array.of(1, 2, 3, 4), [2, 2]);
    const s = b.initializer('s', Float32Array.of(0.5), []);
    const [wf] = b.node('DequantizeLinear', [w, s]);
    b.node('MatMul', [x, wf!], {}, { outputs: ['y'] });
    b.output('y', 'float32', [1, 2]);
    const g = new TrainableGraph(b.build(), { quantAware: false });
    expect(g.params.size).toBe(0);
    g.dispose();
  });
});

describe('tfjs executor: coverage check', () => {
  it('lists every unsupported node at once, grouped by op, before running', () => {
    const b = new GraphBuilder('bad');
    const x = b.input('x', 'float32', [1, 4]);
    const [a] = b.node('Sin', [x], {}, { name: 'sin1' });
    const [c] = b.node('Cos', [a!], {}, { name: 'cos1' });
    const [d] = b.node('Sin', [c!], {}, { name: 'sin2' });
    const [e] = b.node('Pad', [d!, b.initializer('p', BigInt64Array.of(0n, 1n, 0n, 1n), [4])], { mode: 'edge' }, { name: 'pad1' });
    b.node('Relu', [e!], {}, { outputs: ['y'] });
    b.output('y', 'float32', [1, 6]);
    let error: unknown;
    try {
      new TrainableGraph(b.build(), { label: 'bad.onnx' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).toContain('bad.onnx');
    expect(message).toContain('4 node(s)');
    expect(message).toContain('Sin (no trainable kernel): sin1, sin2');
    expect(message).toContain('Cos (no trainable kernel): cos1');
    expect(message).toContain("Pad mode 'edge' is not supported: pad1");
  });
});
