/**
 * tfjs executor, op by op: forward = onnxruntime (≤ 1e-4) and gradients = finite
 * differences (relative error ≤ 1e-3) for the input and every trainable initializer.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/ir/builder.ts';
import { float, type AttrInput } from '../../../src/ir/node.ts';
import { TrainableGraph } from '../../../src/runtime/tfjs/executor.ts';
import { initTrainingBackend, Seeded } from '../../../src/train/backend.ts';
import { gradCheck } from './grad-check.ts';

beforeAll(() => initTrainingBackend());

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

interface Spec {
  op: string;
  x: number[];
  y: number[];
  /** Initializers fed after x (and their dims), or int64 constants. */
  params?: { dims: number[]; scale?: number; offset?: number; values?: number[]; int?: boolean }[];
  attrs?: Record<string, AttrInput>;
  opset?: number;
  training?: boolean;
  /** Keeps inputs away from 0 (kinks, poles, logs): |x| ≥ this. */
  awayFromZero?: number;
  positive?: boolean;
  /** Builds a custom chain instead of one node. */
  chain?: (b: GraphBuilder, x: string, params: string[]) => string;
}

function build(name: string, s: Spec, seed: number) {
  const rng = new Seeded(seed);
  const b = new GraphBuilder(name, { opsets: { '': s.opset ?? 17 } });
  const x = b.input('x', 'float32', s.x);
  const params = (s.params ?? []).map((p, i) => {
    if (p.int) return b.initializer(`c${i}`, BigInt64Array.from(p.values!, (v) => BigInt(v)), p.dims);
    const data = p.values ? Float32Array.from(p.values) : rng.normals(size(p.dims), p.scale ?? 0.5).map((v) => v + (p.offset ?? 0));
    return b.initializer(`p${i}`, data, p.dims);
  });
  const out = s.chain ? s.chain(b, x, params) : b.node(s.op, [x, ...params], s.attrs ?? {})[0]!;
  b.node('Identity', [out], {}, { outputs: ['y'] });
  b.output('y', 'float32', s.y);
  let xs = rng.normals(size(s.x), 1);
  if (s.awayFromZero) xs = xs.map((v) => Math.sign(v || 1) * (Math.abs(v) + s.awayFromZero!));
  if (s.positive) xs = xs.map((v) => Math.abs(v) + 1);
  return { model: b.build(), x: xs, dims: s.x, training: s.training };
}

const unary = (op: string, extra: Partial<Spec> = {}): [string, Spec] => [op, { op, x: [2, 3, 4], y: [2, 3, 4], awayFromZero: 0.05, ...extra }];
const binary = (op: string, extra: Partial<Spec> = {}): [string, Spec] => [op, { op, x: [2, 4, 3, 3], y: [2, 4, 3, 3], params: [{ dims: [4, 1, 1], offset: op === 'Div' ? 2 : 0 }], ...extra }];

const CASES: [string, Spec][] = [
  ['Conv 3x3 pads 1 + bias', { op: 'Conv', x: [2, 3, 6, 6], y: [2, 4, 6, 6], params: [{ dims: [4, 3, 3, 3] }, { dims: [4] }], attrs: { pads: [1, 1, 1, 1] } }],
  ['Conv stride 2, asymmetric pads', { op: 'Conv', x: [2, 3, 7, 7], y: [2, 4, 3, 3], params: [{ dims: [4, 3, 3, 3] }], attrs: { strides: [2, 2], pads: [1, 0, 0, 0] } }],
  ['Conv dilation 2', { op: 'Conv', x: [1, 2, 8, 8], y: [1, 3, 4, 4], params: [{ dims: [3, 2, 3, 3] }], attrs: { dilations: [2, 2] } }],
  ['Conv auto_pad SAME_UPPER stride 2', { op: 'Conv', x: [1, 2, 7, 7], y: [1, 3, 4, 4], params: [{ dims: [3, 2, 3, 3] }], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' } }],
  ['Conv depthwise (group = channels, multiplier 2)', { op: 'Conv', x: [2, 3, 5, 5], y: [2, 6, 5, 5], params: [{ dims: [6, 1, 3, 3] }, { dims: [6] }], attrs: { group: 3, pads: [1, 1, 1, 1] } }],
  ['Conv depthwise stride 2', { op: 'Conv', x: [2, 4, 6, 6], y: [2, 4, 3, 3], params: [{ dims: [4, 1, 3, 3] }], attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] } }],
  ['Conv groups 2', { op: 'Conv', x: [2, 4, 5, 5], y: [2, 6, 3, 3], params: [{ dims: [6, 2, 3, 3] }], attrs: { group: 2 } }],
  ['Conv 1-D', { op: 'Conv', x: [2, 3, 10], y: [2, 4, 10], params: [{ dims: [4, 3, 3] }, { dims: [4] }], attrs: { pads: [1, 1] } }],
  ['ConvTranspose stride 2, pads, output_padding', { op: 'ConvTranspose', x: [2, 3, 4, 4], y: [2, 2, 8, 8], params: [{ dims: [3, 2, 3, 3] }, { dims: [2] }], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } }],
  ['Gemm transB alpha beta', { op: 'Gemm', x: [4, 5], y: [4, 3], params: [{ dims: [3, 5] }, { dims: [3] }], attrs: { transB: 1, alpha: float(0.7), beta: float(1.3) } }],
  ['Gemm transA', { op: 'Gemm', x: [5, 4], y: [4, 3], params: [{ dims: [5, 3] }], attrs: { transA: 1 } }],
  ['MatMul 3-D × 2-D', { op: 'MatMul', x: [2, 3, 5], y: [2, 3, 4], params: [{ dims: [5, 4] }] }],
  ['MatMul batched', { op: 'MatMul', x: [2, 3, 5], y: [2, 3, 4], params: [{ dims: [2, 5, 4] }] }],
  binary('Add'),
  binary('Sub'),
  binary('Mul'),
  binary('Div'),
  unary('Relu'),
  unary('LeakyRelu', { attrs: { alpha: float(0.1) } }),
  unary('Clip', { params: [{ dims: [], values: [-0.5] }, { dims: [], values: [0.6] }] }),
  unary('Sigmoid'),
  unary('Tanh'),
  unary('HardSigmoid', { attrs: { alpha: float(0.3), beta: float(0.4) } }),
  unary('HardSwish'),
  unary('Gelu', { opset: 20 }),
  unary('Gelu', { opset: 20, attrs: { approximate: 'tanh' } }),
  unary('Erf'),
  unary('Elu'),
  unary('Softplus'),
  unary('Exp'),
  unary('Sqrt', { positive: true }),
  unary('Log', { positive: true }),
  unary('Reciprocal', { positive: true }),
  ['PRelu', { op: 'PRelu', x: [2, 3, 4, 4], y: [2, 3, 4, 4], params: [{ dims: [3, 1, 1] }], awayFromZero: 0.05 }],
  ['Pow (exponent 2)', { op: 'Pow', x: [2, 3, 4], y: [2, 3, 4], params: [{ dims: [], values: [2] }] }],
  ['Softmax axis 1', { op: 'Softmax', x: [2, 5, 3], y: [2, 5, 3], attrs: { axis: 1 } }],
  ['Softmax last axis', { op: 'Softmax', x: [2, 3, 5], y: [2, 3, 5] }],
  ['BatchNormalization (inference)', { op: 'BatchNormalization', x: [2, 3, 4, 4], y: [2, 3, 4, 4], params: [{ dims: [3], offset: 1 }, { dims: [3] }, { dims: [3] }, { dims: [3], offset: 1.5, scale: 0.2 }] }],
  ['BatchNormalization (train mode)', { op: 'BatchNormalization', x: [4, 3, 3, 3], y: [4, 3, 3, 3], params: [{ dims: [3], offset: 1 }, { dims: [3] }, { dims: [3] }, { dims: [3], offset: 1.5, scale: 0.2 }], training: true }],
  ['LayerNormalization', { op: 'LayerNormalization', x: [2, 3, 6], y: [2, 3, 6], params: [{ dims: [6], offset: 1 }, { dims: [6] }], attrs: { axis: -1, epsilon: float(1e-5) } }],
  [
    'LayerNormalization written out (ReduceMean, Sub, Pow, Sqrt, Div, Mul, Add)',
    {
      op: '',
      x: [2, 3, 6],
      y: [2, 3, 6],
      params: [{ dims: [], values: [2] }, { dims: [], values: [1e-5] }, { dims: [6], offset: 1 }, { dims: [6] }],
      chain: (b, x, [two, eps, gamma, beta]) => {
        const [mean] = b.node('ReduceMean', [x], { axes: [-1] });
        const [d] = b.node('Sub', [x, mean!]);
        const [sq] = b.node('Pow', [d!, two!]);
        const [v] = b.node('ReduceMean', [sq!], { axes: [-1] });
        const [ve] = b.node('Add', [v!, eps!]);
        const [sd] = b.node('Sqrt', [ve!]);
        const [n] = b.node('Div', [d!, sd!]);
        const [m] = b.node('Mul', [n!, gamma!]);
        return b.node('Add', [m!, beta!])[0]!;
      },
    },
  ],
  ['MaxPool 2x2 stride 2', { op: 'MaxPool', x: [2, 3, 6, 6], y: [2, 3, 3, 3], attrs: { kernel_shape: [2, 2], strides: [2, 2] } }],
  ['MaxPool 3x3 stride 2 pads 1 ceil_mode', { op: 'MaxPool', x: [1, 2, 6, 6], y: [1, 2, 4, 4], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } }],
  ['AveragePool pads, count_include_pad 0', { op: 'AveragePool', x: [1, 2, 5, 5], y: [1, 2, 5, 5], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } }],
  ['AveragePool pads, count_include_pad 1', { op: 'AveragePool', x: [1, 2, 5, 5], y: [1, 2, 3, 3], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 } }],
  ['GlobalAveragePool', { op: 'GlobalAveragePool', x: [2, 3, 4, 4], y: [2, 3, 1, 1] }],
  ['ReduceMean (opset 18, axes input)', { op: 'ReduceMean', x: [2, 3, 4], y: [2, 1, 4], opset: 18, params: [{ dims: [1], values: [1], int: true }] }],
  ['ReduceSum', { op: 'ReduceSum', x: [2, 3, 4], y: [2, 4], params: [{ dims: [1], values: [1], int: true }], attrs: { keepdims: 0 } }],
  ['Reshape', { op: 'Reshape', x: [2, 3, 4], y: [2, 12], params: [{ dims: [2], values: [0, -1], int: true }] }],
  ['Flatten', { op: 'Flatten', x: [2, 3, 2, 2], y: [2, 12] }],
  ['Transpose', { op: 'Transpose', x: [2, 3, 4], y: [4, 2, 3], attrs: { perm: [2, 0, 1] } }],
  ['Concat (input and weight)', { op: 'Concat', x: [2, 3], y: [2, 7], params: [{ dims: [2, 4] }], attrs: { axis: 1 } }],
  ['Slice (steps 2, negative step)', {
    op: '', x: [3, 8], y: [2, 3],
    params: [{ dims: [2], values: [0, -1], int: true }, { dims: [2], values: [3, 1], int: true }, { dims: [2], values: [0, 1], int: true }, { dims: [2], values: [2, -2], int: true }],
    chain: (b, x, p) => b.node('Slice', [x, ...p])[0]!,
  }],
  ['Squeeze / Unsqueeze', {
    op: '', x: [2, 1, 3], y: [2, 3, 1], params: [{ dims: [1], values: [1], int: true }, { dims: [1], values: [-1], int: true }],
    chain: (b, x, [a, c]) => b.node('Unsqueeze', [b.node('Squeeze', [x, a!])[0]!, c!])[0]!,
  }],
  ['Pad constant (pad and crop)', { op: 'Pad', x: [1, 2, 4, 4], y: [1, 2, 5, 6], params: [{ dims: [8], values: [0, 0, 1, 1, 0, 0, 0, 1], int: true }, { dims: [], values: [0.5] }] }],
  ['Pad reflect', { op: 'Pad', x: [1, 2, 4, 4], y: [1, 2, 6, 6], params: [{ dims: [8], values: [0, 0, 1, 1, 0, 0, 1, 1], int: true }], attrs: { mode: 'reflect' } }],
  ['Split + Concat', {
    op: '', x: [2, 6], y: [2, 6], params: [{ dims: [2], values: [2, 4], int: true }],
    chain: (b, x, [s]) => {
      const [u, v] = b.node('Split', [x, s!], { axis: 1 }, { outputs: 2 });
      return b.node('Concat', [v!, u!], { axis: 1 })[0]!;
    },
  }],
  ['Gather (constant indices)', { op: 'Gather', x: [5, 3], y: [2, 2, 3], params: [{ dims: [2, 2], values: [4, 0, -1, 2], int: true }] }],
];

describe('tfjs executor: forward and gradient per op', () => {
  CASES.forEach(([name, spec], i) => {
    it(`${name}`, async () => {
      const report = await gradCheck(build(`case${i}`, spec, 100 + i));
      if (process.env.SHOW) console.log(name, JSON.stringify(report));
      if (report.forwardMaxAbs !== undefined) expect(report.forwardMaxAbs).toBeLessThanOrEqual(1e-4);
      for (const [tensor, err] of Object.entries(report.relErrors)) expect(err, `${name}: gradient of ${tensor}`).toBeLessThanOrEqual(1e-3);
    });
  });
});

describe('tfjs executor: MaxPool gradient on ties', () => {
  it('each window sends dy to its first maximum in row-major order; a cropped edge gets none', () => {
    const b = new GraphBuilder('ties', { opsets: { '': 17 } });
    b.node('MaxPool', [b.input('x', 'float32', [1, 1, 5, 5])], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: ['y'] });
    b.output('y', 'float32', [1, 1, 2, 2]);
    const exec = new TrainableGraph(b.build());
    // Windows: all equal | 3 at (0,1) and (1,0) | 2 at (0,0), (1,0), (1,1) | one maximum at (1,1). Row/column 5 are cropped.
    // prettier-ignore
    const x = [
      1, 1, 0, 3, 9,
      1, 1, 3, 1, 9,
      2, 0, 0, 0, 9,
      2, 2, 0, 5, 9,
      9, 9, 9, 9, 9,
    ];
    const dx = tf.tidy(() => {
      const upstream = tf.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
      return tf.grad((t: tf.Tensor) => exec.run({ x: t }, { training: true }).y!.nchw().mul(upstream).sum())(tf.tensor(x, [1, 1, 5, 5])).dataSync();
    });
    exec.dispose();
    // prettier-ignore
    expect(Array.from(dx)).toEqual([
      1, 0, 0, 2, 0,
      0, 0, 0, 0, 0,
      3, 0, 0, 0, 0,
      0, 0, 0, 4, 0,
      0, 0, 0, 0, 0,
    ]);
  });
});
