import { describe, expect, it } from 'vitest';
import { cleanup } from '../../passes/cleanup.ts';
import { InputError } from '../../src/errors.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { exportTflite, type ExportOptions } from '../../src/tflite/convert.ts';
import { LOWERINGS } from '../../src/tflite/lower/index.ts';
import { TFLITE_OPS } from '../../src/ops/tflite.ts';
import { compareWithOnnx, randomSamples, type Sample } from '../../src/tflite/verify.ts';
import { openDataset } from '../../src/data/dataset.ts';
import { randomFloats } from '../helpers/run-model.ts';

const ctx = { progress() {}, note() {} };

/** The first `n` digits of the test split, one [1, 1, 28, 28] sample each. */
async function mnistSamples(n: number): Promise<Sample[]> {
  const ds = await openDataset('fixtures/data/mnist-test.npz');
  const out: Sample[] = [];
  for await (const b of ds.batches(n, { limit: n })) for (let i = 0; i < b.shape[0]!; i++) out.push([Float32Array.from(b.x.subarray(i * 784, (i + 1) * 784) as Float32Array)]);
  await ds.close();
  return out;
}

async function roundTrip(model: Model, opts: ExportOptions = {}, samples = 3) {
  const result = await exportTflite(model, opts);
  const cmp = await compareWithOnnx(modelToBytes(model), result, randomSamples(result.inputs, samples));
  return { result, cmp, maxErr: Math.max(...cmp.outputs.map((o) => o.maxAbsError)) };
}

function cnn(opts: { pads?: number[]; group?: number; act?: string; size?: number } = {}) {
  const b = new GraphBuilder('cnn');
  const size = opts.size ?? 9;
  const x = b.input('x', 'float32', ['N', 4, size, size]);
  const side = Math.floor((size + 2 - 3) / 2) + 1 - 1;
  const group = opts.group ?? 1;
  const w = b.initializer('w', randomFloats(8 * (4 / group) * 9, 2), [8, 4 / group, 3, 3]);
  const bias = b.initializer('b', randomFloats(8, 3), [8]);
  const [c] = b.node('Conv', [x, w, bias], { pads: opts.pads ?? [1, 1, 1, 1], strides: [2, 2], group });
  const [r] = b.node(opts.act ?? 'Relu', [c]);
  const [p] = b.node('MaxPool', [r], { kernel_shape: [2, 2], strides: [1, 1] });
  const [f] = b.node('Flatten', [p], { axis: 1 });
  const fc = b.initializer('fc', randomFloats(5 * 8 * side * side, 4), [5, 8 * side * side]);
  const fb = b.initializer('fb', randomFloats(5, 5), [5]);
  const [y] = b.node('Gemm', [f, fc, fb], { transB: 1 });
  const [s] = b.node('Softmax', [y], { axis: -1 });
  b.output(s, 'float32', ['N', 5]);
  return b.build();
}

describe('export-tflite: float32 on tiny graphs', () => {
  it('export-tflite: conv, relu, maxpool, flatten, gemm, softmax in NHWC with no TRANSPOSE', async () => {
    const { result, maxErr } = await roundTrip(cnn());
    expect(maxErr).toBeLessThan(1e-5);
    expect(result.operators.TRANSPOSE).toBeUndefined();
    expect(result.operators.RELU).toBeUndefined(); // fused into CONV_2D
    const conv = result.model.operators.find((o) => o.op === 'CONV_2D')!;
    expect(conv.options!.fields.find((f) => f.slot === 3)!.value).toBe(1);
    expect(result.inputs[0]!.tfliteShape).toEqual([1, 9, 9, 4]);
  });

  it('export-tflite: depthwise conv with explicit (non-SAME) pads becomes PAD + DEPTHWISE_CONV_2D', async () => {
    const { result, maxErr } = await roundTrip(cnn({ group: 4, pads: [1, 1, 1, 1], size: 8 }));
    expect(maxErr).toBeLessThan(1e-5);
    expect(result.operators.DEPTHWISE_CONV_2D).toBe(1);
    expect(result.operators.PAD).toBe(1);
  });

  it('export-tflite: --keep-nchw-io keeps the input NCHW with one TRANSPOSE', async () => {
    const { result, maxErr } = await roundTrip(cnn(), { keepNchwIo: true });
    expect(maxErr).toBeLessThan(1e-5);
    expect(result.inputs[0]!.tfliteShape).toEqual([1, 4, 9, 9]);
    expect(result.operators.TRANSPOSE).toBe(1);
  });

  it('export-tflite: transformer pieces (MatMul+bias, LayerNorm, erf GELU, BATCH_MATMUL, Transpose)', async () => {
    const b = new GraphBuilder('tf');
    const x = b.input('x', 'float32', ['N', 6, 8]);
    const w = b.initializer('w', randomFloats(64, 6), [8, 8]);
    const bias = b.initializer('bias', randomFloats(8, 7), [8]);
    const [mm] = b.node('MatMul', [x, w]);
    const [a] = b.node('Add', [mm, bias]);
    const [ln] = b.node('LayerNormalization', [a, b.initializer('g', randomFloats(8, 8), [8]), b.initializer('be', randomFloats(8, 9), [8])], { axis: -1 });
    const [d] = b.node('Div', [ln, b.initializer('sqrt2', Float32Array.of(Math.SQRT2), [])]);
    const [e] = b.node('Erf', [d]);
    const [p1] = b.node('Add', [e, b.initializer('one', Float32Array.of(1), [])]);
    const [h] = b.node('Mul', [ln, b.initializer('half', Float32Array.of(0.5), [])]);
    const [g] = b.node('Mul', [h, p1]);
    const [t] = b.node('Transpose', [g], { perm: [0, 2, 1] });
    const [s] = b.node('MatMul', [g, t]);
    b.output(s, 'float32', ['N', 6, 6]);
    const { result, maxErr } = await roundTrip(b.build());
    expect(maxErr).toBeLessThan(1e-5);
    expect(result.operators.GELU).toBe(1);
    expect(result.operators.BATCH_MATMUL).toBe(1);
    expect(result.operators.FULLY_CONNECTED).toBe(1);
  });

  it('export-tflite: value is a graph output and also read by another node', async () => {
    const b = new GraphBuilder('two');
    const x = b.input('x', 'float32', ['N', 2, 5, 5]);
    const w = b.initializer('w', randomFloats(3 * 2 * 9, 3), [3, 2, 3, 3]);
    const [c] = b.node('Conv', [x, w], { pads: [1, 1, 1, 1] });
    const [r] = b.node('Clip', [c, b.initializer('lo', Float32Array.of(0), []), b.initializer('hi', Float32Array.of(6), [])]);
    const [g] = b.node('GlobalAveragePool', [r]);
    b.output(c, 'float32', ['N', 3, 5, 5]);
    b.output(g, 'float32', ['N', 3, 1, 1]);
    const { result, maxErr } = await roundTrip(b.build(), { keepNchwIo: true });
    expect(maxErr).toBeLessThan(1e-5);
    expect(result.operators.RELU6).toBe(1);
  });

  it('export-tflite: refuses unsupported nodes, listing each with a reason code, before writing', async () => {
    const b = new GraphBuilder('bad');
    const x = b.input('x', 'float32', ['N', 4]);
    const y = b.input('y', 'float32', [4, 4]);
    const [m] = b.node('MatMul', [x, y], {}, { name: 'ok_mm' });
    const [e] = b.node('Erf', [m], {}, { name: 'lonely_erf' });
    const [c] = b.node('Clip', [e, b.initializer('lo', Float32Array.of(-2), []), b.initializer('hi', Float32Array.of(2), [])], {}, { name: 'odd_clip' });
    b.output(c, 'float32', ['N', 4]);
    const img = b.input('img', 'float32', ['N', 2, 4, 4]);
    const kernel = b.input('kernel', 'float32', [3, 2, 3, 3]);
    const [conv] = b.node('Conv', [img, kernel], {}, { name: 'runtime_kernel' });
    b.output(conv, 'float32', ['N', 3, 2, 2]);
    const err = await exportTflite(b.build()).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(InputError);
    const msg = (err as Error).message;
    expect(msg).toContain('lonely_erf: unsupported-op');
    expect(msg).toContain('odd_clip: unsupported-attribute');
    expect(msg).toContain('runtime_kernel: non-constant-weight');
    expect(msg).not.toContain('ok_mm');
  });
});

describe('export-tflite: fixtures in float32 (after cleanup)', () => {
  for (const name of ['lenet5', 'mlp', 'dscnn', 'tinyvit', 'mobilenetv2']) {
    it(`export-tflite: ${name} matches onnxruntime within 1e-5`, async () => {
      const model = await loadModel(`fixtures/${name}.onnx`);
      await cleanup.run(model, { fold: true, foldBatchnorm: true, dedupe: true, fuseMatmulAdd: true, stripDebugInfo: true }, ctx);
      const result = await exportTflite(model);
      const cmp = await compareWithOnnx(modelToBytes(model), result, await mnistSamples(8));
      const maxErr = Math.max(...cmp.outputs.map((o) => o.maxAbsError));
      expect(maxErr).toBeLessThan(1e-5);
      if (name !== 'tinyvit' && name !== 'mlp') expect(result.operators.TRANSPOSE).toBeUndefined();
    });
  }
});

describe('export-tflite: Resize', () => {
  const cases: [string, Record<string, string>][] = [
    ['nearest, asymmetric, floor', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }],
    ['linear, half_pixel', { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }],
    ['linear, align_corners', { mode: 'linear', coordinate_transformation_mode: 'align_corners' }],
  ];
  for (const [label, attrs] of cases) {
    it(`export-tflite: Resize ${label} after a conv`, async () => {
      const b = new GraphBuilder('resize');
      const x = b.input('x', 'float32', ['N', 3, 5, 6]);
      const [c] = b.node('Conv', [x, b.initializer('w', randomFloats(4 * 3 * 9, 11), [4, 3, 3, 3])], { pads: [1, 1, 1, 1] });
      const [r] = b.node('Resize', [c, '', b.initializer('scales', Float32Array.of(1, 1, 2, 2), [4])], attrs);
      const [y] = b.node('Relu', [r]);
      b.output(y, 'float32', ['N', 4, 10, 12]);
      const { result, maxErr } = await roundTrip(b.build(), { keepNchwIo: true });
      expect(maxErr).toBeLessThan(1e-5);
      expect(result.operators.RESIZE_BILINEAR ?? result.operators.RESIZE_NEAREST_NEIGHBOR).toBe(1);
    });
  }
});

describe('export-tflite: subgraphs', () => {
  it('export-tflite: a node inside a subgraph (If) is refused as control flow, naming the If', async () => {
    const branch = (name: string, v: number) => {
      const g = new GraphBuilder(name);
      const [o] = g.node('Add', ['x', g.initializer(`${name}_k`, Float32Array.of(v), [])], {}, { outputs: [`${name}_out`] });
      g.output(o, 'float32', [1, 4]);
      return g.graph;
    };
    const b = new GraphBuilder('if');
    b.input('x', 'float32', [1, 4]);
    const cond = b.input('cond', 'bool', []);
    const [y] = b.node('If', [cond], { then_branch: branch('then', 1), else_branch: branch('else', 2) }, { name: 'choose' });
    b.output(y, 'float32', [1, 4]);
    await expect(exportTflite(b.build())).rejects.toThrow(/choose: unsupported-op/);
  });
});

describe('export-tflite: op table', () => {
  it('export-tflite: every op in the TFLite column has a lowering and every lowering a table entry', () => {
    expect(Object.keys(LOWERINGS).sort()).toEqual(Object.keys(TFLITE_OPS).sort());
  });
});
