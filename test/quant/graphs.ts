/** Tiny graphs and in-memory data sets for the int8 quantization tests. */
import type { Dataset } from '../../src/data/dataset.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { randomFloats } from '../helpers/run-model.ts';

/** A data set held in memory: x float32 [N, ...], optional int64 labels. */
export function memoryDataset(x: Float32Array, shape: number[], y?: ArrayLike<number>): Dataset {
  const n = shape[0]!;
  const row = x.length / n;
  const labels = y ? BigInt64Array.from(Array.from(y), (v) => BigInt(v)) : undefined;
  return {
    path: '<memory>',
    x: { dtype: 'float32', shape },
    ...(labels && { y: { dtype: 'int64' as const, shape: [n] } }),
    length: n,
    async *batches(batchSize: number, opts: { limit?: number } = {}) {
      const total = Math.min(n, opts.limit ?? n);
      for (let s = 0; s < total; s += batchSize) {
        const k = Math.min(batchSize, total - s);
        yield { start: s, x: x.subarray(s * row, (s + k) * row), shape: [k, ...shape.slice(1)], ...(labels && { y: labels.subarray(s, s + k) }) };
      }
    },
    async close() {},
  };
}

/** Random inputs in [-1, 1) as a data set. */
export function randomDataset(shape: number[], seed = 11): Dataset {
  return memoryDataset(randomFloats(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/** Conv(+bias) → Relu → MaxPool → Conv → Concat(with MaxPool) → Flatten → Gemm(transB) → Add. */
export function convNet(): Model {
  const b = new GraphBuilder('convnet', { opsets: { '': 17 } });
  const x = b.input('x', 'float32', ['N', 3, 8, 8]);
  const w1 = b.initializer('w1', randomFloats(8 * 3 * 9, 2).map((v, i) => v * (1 + (i % 8))), [8, 3, 3, 3]);
  const b1 = b.initializer('b1', randomFloats(8, 3), [8]);
  const [c1] = b.node('Conv', [x, w1, b1], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
  const [r1] = b.node('Relu', [c1], {}, { name: 'relu1' });
  const [p1] = b.node('MaxPool', [r1], { kernel_shape: [2, 2], strides: [2, 2] }, { name: 'pool1' });
  const w2 = b.initializer('w2', randomFloats(8 * 8 * 9, 4), [8, 8, 3, 3]);
  const [c2] = b.node('Conv', [p1, w2], { pads: [1, 1, 1, 1] }, { name: 'conv2' });
  const [cat] = b.node('Concat', [c2, p1], { axis: 1 }, { name: 'concat' });
  const [f] = b.node('Flatten', [cat], {}, { name: 'flatten' });
  const w3 = b.initializer('w3', randomFloats(10 * 256, 5).map((v) => v * 0.2), [10, 256]);
  const b3 = b.initializer('b3', randomFloats(10, 6), [10]);
  const [g] = b.node('Gemm', [f, w3, b3], { transB: 1 }, { name: 'fc' });
  const k = b.initializer('k', randomFloats(10, 7), [10]);
  const [y] = b.node('Add', [g, k], {}, { name: 'add', outputs: ['y'] });
  b.output(y, 'float32', ['N', 10]);
  return b.build();
}

/** MatMul [K,N] → Add bias → Relu → MatMul. */
export function mlp(k = 16, hidden = 32, out = 8): Model {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', ['N', k]);
  const w1 = b.initializer('w1', randomFloats(k * hidden, 21), [k, hidden]);
  const [m1] = b.node('MatMul', [x, w1], {}, { name: 'mm1' });
  const bias = b.initializer('bias1', randomFloats(hidden, 22), [hidden]);
  const [a1] = b.node('Add', [m1, bias], {}, { name: 'bias_add' });
  const [r] = b.node('Relu', [a1], {}, { name: 'relu' });
  const w2 = b.initializer('w2', randomFloats(hidden * out, 23), [hidden, out]);
  b.node('MatMul', [r, w2], {}, { name: 'mm2', outputs: ['y'] });
  b.output('y', 'float32', ['N', out]);
  return b.build();
}

/** One transformer block: LayerNorm, single-head attention (MatMul of activations, Softmax), residual, erf-GELU MLP. */
export function attentionBlock(t = 6, d = 8): Model {
  const b = new GraphBuilder('attn');
  b.input('x', 'float32', ['N', t, d]);
  const w = (name: string, dims: number[], seed: number, s = 0.5) => b.initializer(name, randomFloats(dims.reduce((a, c) => a * c, 1), seed).map((v) => v * s), dims);
  const [ln] = b.node('LayerNormalization', ['x', w('ln_g', [d], 1, 1), w('ln_b', [d], 2, 0.1)], { axis: -1 }, { name: 'ln' });
  const proj = (name: string, x: string, seed: number) => {
    const [m] = b.node('MatMul', [x, w(`${name}_w`, [d, d], seed)], {}, { name });
    return b.node('Add', [m, w(`${name}_b`, [d], seed + 50, 0.1)], {}, { name: `${name}_bias` })[0]!;
  };
  const q = proj('q', ln!, 3);
  const k = proj('k', ln!, 4);
  const v = proj('v', ln!, 5);
  const [kt] = b.node('Transpose', [k], { perm: [0, 2, 1] }, { name: 'kt' });
  const [s] = b.node('MatMul', [q, kt!], {}, { name: 'scores' });
  const [sc] = b.node('Mul', [s!, b.initializer('scale', Float32Array.of(1 / Math.sqrt(d)), [])], {}, { name: 'scaled' });
  const [p] = b.node('Softmax', [sc!], { axis: -1 }, { name: 'softmax' });
  const [mix] = b.node('MatMul', [p!, v], {}, { name: 'mix' });
  const o = proj('out', mix!, 6);
  const [res] = b.node('Add', ['x', o], {}, { name: 'residual' });
  const h = proj('fc1', res!, 7);
  const [div] = b.node('Div', [h, b.initializer('sqrt2', Float32Array.of(Math.SQRT2), [])], {}, { name: 'gelu_div' });
  const [erf] = b.node('Erf', [div!], {}, { name: 'gelu_erf' });
  const [half] = b.node('Mul', [h, b.initializer('half', Float32Array.of(0.5), [])], {}, { name: 'gelu_half' });
  const [one] = b.node('Add', [erf!, b.initializer('one', Float32Array.of(1), [])], {}, { name: 'gelu_one' });
  const [g] = b.node('Mul', [half!, one!], {}, { name: 'gelu' });
  const [red] = b.node('ReduceMean', [g!], { axes: [1], keepdims: 0 }, { name: 'pool' });
  b.node('MatMul', [red!, w('head_w', [d, 4], 8)], {}, { name: 'head', outputs: ['y'] });
  b.output('y', 'float32', ['N', 4]);
  return b.build();
}

/** The DequantizeLinear feeding input `index` of node `node`, with its initializers (codes, scale, zero point). */
export function dequantized(m: Model, node: string, index: number) {
  const n = m.graph.nodes.find((x) => x.name === node);
  if (!n) throw new Error(`no node '${node}'`);
  return dequantizerOf(m, n.inputs[index]!);
}

/** The DequantizeLinear writing `tensor`, with its initializers. */
export function dequantizerOf(m: Model, tensor: string) {
  const dq = m.graph.nodes.find((x) => x.opType === 'DequantizeLinear' && x.outputs[0] === tensor);
  if (!dq) throw new Error(`'${tensor}' is not written by a DequantizeLinear`);
  const init = (i: number) => (dq.inputs[i] ? m.graph.initializers.get(dq.inputs[i]!) : undefined);
  return { node: dq, codes: init(0), scale: init(1)!, zeroPoint: init(2), axis: dq.getInt('axis', 1) }; // ONNX's default axis is 1
}

/** The scale and zero point of a quantized activation (read from the DequantizeLinear that writes it). */
export function activationParams(m: Model, tensor: string) {
  const q = m.graph.nodes.find((x) => x.opType === 'QuantizeLinear' && (x.inputs[0] === tensor || m.graph.nodes.some((d) => d.opType === 'DequantizeLinear' && d.outputs[0] === tensor && d.inputs[0] === x.outputs[0])));
  if (!q) throw new Error(`'${tensor}' is not quantized`);
  return { scale: m.graph.initializers.get(q.inputs[1]!)!, zeroPoint: m.graph.initializers.get(q.inputs[2]!)! };
}

/** 128 samples of x[16] whose unused feature 3 holds one wild value: minmax spends the first layer's input range on it. */
export function calibrationWithOutlier(): Dataset {
  const x = randomFloats(128 * 16, 9);
  x[3] = 5000;
  return memoryDataset(x, [128, 16]);
}

/**
 * x [N, 4, L] → per-channel gain [1000, 0.01, 0.01, 0.01] → conv1 (4 → 4, k 3) → Relu → conv2
 * (4 → 8, k 1) → y. Channel 0 is loud and barely read, channels 1–3 quiet and read hard: one
 * uint8 step of conv1's input at run time (dynamic int8's ConvInteger) is wider than the quiet
 * channels, so they vanish, while int8 weights alone (float compute) keep them.
 */
export function wideRangeConv(): Model {
  const b = new GraphBuilder('wide-range');
  b.input('x', 'float32', ['N', 4, 'L']);
  const [g] = b.node('Mul', ['x', b.initializer('gain', Float32Array.of(1000, 0.01, 0.01, 0.01), [1, 4, 1])], {}, { name: 'loudness' });
  const w1 = randomFloats(4 * 4 * 3, 21).map((v, i) => (Math.floor(i / 3) % 4 === 0 ? v * 1e-5 : v * 100));
  const [h] = b.node('Conv', [g!, b.initializer('w1', w1, [4, 4, 3]), b.initializer('b1', randomFloats(4, 22), [4])], { pads: [1, 1] }, { name: 'conv1' });
  const [r] = b.node('Relu', [h!], {}, { name: 'relu' });
  b.node('Conv', [r!, b.initializer('w2', randomFloats(8 * 4, 23), [8, 4, 1])], {}, { name: 'conv2', outputs: ['y'] });
  b.output('y', 'float32', ['N', 8, 'L']);
  return b.build();
}

/**
 * x [N, 4, L] → conv (4 → 4, k 1) whose output channels each read channel 0 with a weight of
 * 1000 and channels 1–3 with weights near 0.01; channel 0 of the input is scaled by 1e-6.
 * With one int8 scale per output channel, the small weights round to zero in every int8 form
 * (integer op or weight-only): only float keeps the conv. With `healthy`, a second conv
 * (4 → 8) follows that int8 holds well.
 */
export function outlierWeightConv(healthy: boolean): Model {
  const b = new GraphBuilder('outlier-weight');
  b.input('x', 'float32', ['N', 4, 'L']);
  const [g] = b.node('Mul', ['x', b.initializer('gain', Float32Array.of(1e-6, 1, 1, 1), [1, 4, 1])], {}, { name: 'quiet' });
  const w = randomFloats(16, 31).map((v, i) => (i % 4 === 0 ? 1000 : 0.01 * (1 + v)));
  const out = healthy ? 'h' : 'y';
  b.node('Conv', [g!, b.initializer('w', w, [4, 4, 1])], {}, { name: 'fragile', outputs: [out] });
  if (healthy) b.node('Conv', [out, b.initializer('w2', randomFloats(8 * 4, 32), [8, 4, 1])], {}, { name: 'sturdy', outputs: ['y'] });
  b.output('y', 'float32', ['N', healthy ? 8 : 4, 'L']);
  return b.build();
}
