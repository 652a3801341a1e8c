import { describe, expect, it } from 'vitest';
import { float, GraphBuilder } from '../../src/ir/builder.ts';
import type { AttrInput } from '../../src/ir/node.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { exportTflite } from '../../src/tflite/convert.ts';
import { compareWithOnnx, randomSamples } from '../../src/tflite/verify.ts';
import { randomFloats } from '../helpers/run-model.ts';

/**
 * One op after a 3×3 conv (so 4-D values are NHWC inside the file) or on a plain input,
 * compared with onnxruntime on random inputs in the interpreter.
 */
async function check(build: (b: GraphBuilder, x: string) => { y: string; shape: number[] }, opts: { afterConv?: boolean; inShape?: number[] } = {}) {
  const b = new GraphBuilder('op');
  const inShape = opts.inShape ?? [1, 3, 6, 6];
  let x = b.input('x', 'float32', inShape);
  if (opts.afterConv ?? true) [x] = b.node('Conv', [x, b.initializer('w', randomFloats(4 * inShape[1]! * 9, 5), [4, inShape[1]!, 3, 3])], { pads: [1, 1, 1, 1] });
  const { y, shape } = build(b, x);
  b.output(y, 'float32', shape);
  const model = b.build();
  const result = await exportTflite(model, { keepNchwIo: true });
  const cmp = await compareWithOnnx(modelToBytes(model), result, randomSamples(result.inputs, 2));
  return { result, err: Math.max(...cmp.outputs.map((o) => o.maxAbsError)) };
}

const unary = (op: string, attrs: Record<string, AttrInput> = {}) => (b: GraphBuilder, x: string) => ({ y: b.node(op, [x], attrs)[0]!, shape: [1, 4, 6, 6] });
const c = (b: GraphBuilder, name: string, data: number[], dims: number[]) => b.initializer(name, Float32Array.from(data), dims);

const CASES: [string, (b: GraphBuilder, x: string) => { y: string; shape: number[] }, string[]?][] = [
  ['Sigmoid', unary('Sigmoid')],
  ['Tanh', unary('Tanh')],
  ['LeakyRelu', unary('LeakyRelu', { alpha: 0.2 })],
  ['HardSwish', unary('HardSwish')],
  ['Sub with a per-channel constant', (b, x) => ({ y: b.node('Sub', [x, c(b, 'k', [1, 2, 3, 4], [4, 1, 1])])[0]!, shape: [1, 4, 6, 6] })],
  ['Div by a scalar', (b, x) => ({ y: b.node('Div', [x, c(b, 'k', [3], [])])[0]!, shape: [1, 4, 6, 6] })],
  ['Mul of two activations', (b, x) => ({ y: b.node('Mul', [x, b.node('Sigmoid', [x])[0]!])[0]!, shape: [1, 4, 6, 6] })],
  ['BatchNormalization left unfused', (b, x) => {
    const [r] = b.node('Relu', [x]);
    return { y: b.node('BatchNormalization', [r, c(b, 'g', [1, 2, 0.5, 1], [4]), c(b, 'be', [0, 1, 0, -1], [4]), c(b, 'm', [0.1, 0, 0.2, 0], [4]), c(b, 'v', [1, 2, 0.5, 1], [4])])[0]!, shape: [1, 4, 6, 6] };
  }],
  ['AveragePool SAME', (b, x) => ({ y: b.node('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] })[0]!, shape: [1, 4, 6, 6] })],
  ['MaxPool stride 2', (b, x) => ({ y: b.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] })[0]!, shape: [1, 4, 3, 3] })],
  ['Concat on channels', (b, x) => ({ y: b.node('Concat', [x, b.node('Relu', [x])[0]!], { axis: 1 })[0]!, shape: [1, 8, 6, 6] })],
  ['Pad', (b, x) => ({ y: b.node('Pad', [x, b.initializer('p', BigInt64Array.from([0, 0, 1, 2, 0, 0, 2, 1], BigInt), [8])])[0]!, shape: [1, 4, 9, 9] })],
  ['Slice on H and W with a step (STRIDED_SLICE)', (b, x) => ({ y: b.node('Slice', [x, b.initializer('s', BigInt64Array.of(1n, 0n), [2]), b.initializer('e', BigInt64Array.of(5n, 6n), [2]), b.initializer('a', BigInt64Array.of(2n, 3n), [2]), b.initializer('st', BigInt64Array.of(1n, 2n), [2])])[0]!, shape: [1, 4, 4, 3] }), ['STRIDED_SLICE']],
  ['ReduceMean over H, W keepdims', (b, x) => ({ y: b.node('ReduceMean', [x], { axes: [2, 3], keepdims: 1 })[0]!, shape: [1, 4, 1, 1] })],
  ['ReduceSum over channels, no keepdims', (b, x) => ({ y: b.node('ReduceSum', [x, b.initializer('ax', BigInt64Array.of(1n), [1])], { keepdims: 0 })[0]!, shape: [1, 6, 6] })],
  ['Softmax over channels (stays NHWC)', (b, x) => ({ y: b.node('Softmax', [x], { axis: 1 })[0]!, shape: [1, 4, 6, 6] })],
  ['Transpose', (b, x) => ({ y: b.node('Transpose', [x], { perm: [0, 3, 2, 1] })[0]!, shape: [1, 6, 6, 4] })],
  ['Reshape to 3-D', (b, x) => ({ y: b.node('Reshape', [x, b.initializer('sh', BigInt64Array.of(1n, 4n, 36n), [3])])[0]!, shape: [1, 4, 36] })],
  ['GlobalMaxPool, Squeeze, Unsqueeze', (b, x) => {
    const [g] = b.node('GlobalMaxPool', [x]);
    const [s] = b.node('Squeeze', [g, b.initializer('sa', BigInt64Array.of(2n, 3n), [2])]);
    return { y: b.node('Unsqueeze', [s, b.initializer('ua', BigInt64Array.of(1n), [1])])[0]!, shape: [1, 1, 4] };
  }],
  ['Squeeze and Unsqueeze of plain values (SQUEEZE, EXPAND_DIMS)', (b, x) => {
    const [t] = b.node('Transpose', [x], { perm: [0, 2, 3, 1] });
    const [r] = b.node('Reshape', [t, b.initializer('rs', BigInt64Array.of(1n, 36n, 1n, 4n), [4])]);
    const [s] = b.node('Squeeze', [r, b.initializer('sq', BigInt64Array.of(2n), [1])]);
    return { y: b.node('Unsqueeze', [s, b.initializer('us', BigInt64Array.of(0n), [1])])[0]!, shape: [1, 1, 36, 4] };
  }, ['SQUEEZE', 'EXPAND_DIMS']],
  ['Slice with unit steps (SLICE)', (b, x) => ({ y: b.node('Slice', [x, b.initializer('s', BigInt64Array.of(1n, 2n), [2]), b.initializer('e', BigInt64Array.of(3n, 6n), [2]), b.initializer('a', BigInt64Array.of(1n, 3n), [2])])[0]!, shape: [1, 2, 6, 4] }), ['SLICE']],
  ['ConvTranspose stride 2', (b, x) => ({ y: b.node('ConvTranspose', [x, b.initializer('wt', randomFloats(4 * 2 * 9, 9), [4, 2, 3, 3]), c(b, 'bt', [0.5, -0.5], [2])], { strides: [2, 2] })[0]!, shape: [1, 2, 13, 13] }), ['TRANSPOSE_CONV']],
];

describe('export-tflite: op coverage (float32, NHWC inside, vs onnxruntime)', () => {
  for (const [label, build, ops] of CASES) {
    it(`export-tflite: ${label}`, async () => {
      const { err, result } = await check(build);
      expect(err).toBeLessThan(1e-5);
      for (const op of ops ?? []) expect(result.operators[op]).toBeGreaterThanOrEqual(1);
    });
  }

  it('export-tflite: Gemm with transB=0, alpha and beta', async () => {
    const { err } = await check(
      (b, x) => ({ y: b.node('Gemm', [x, b.initializer('gw', randomFloats(12 * 5, 4), [12, 5]), c(b, 'gb', [1, 2, 3, 4, 5], [5])], { alpha: 0.5, beta: float(2) })[0]!, shape: [2, 5] }),
      { afterConv: false, inShape: [2, 12] },
    );
    expect(err).toBeLessThan(1e-5);
  });
});
