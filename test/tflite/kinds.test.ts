import { describe, expect, it } from 'vitest';
import { cleanup } from '../../passes/cleanup.ts';
import { quantize } from '../../passes/quantize.ts';
import { openDataset } from '../../src/data/dataset.ts';
import { InputError } from '../../src/errors.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { validateOptions } from '../../src/pipeline/options.ts';
import { exportTflite } from '../../src/tflite/convert.ts';
import { compareWithOnnx, type Sample } from '../../src/tflite/verify.ts';

const ctx = { progress() {}, note() {} };

async function mnist(n: number): Promise<Sample[]> {
  const ds = await openDataset('fixtures/data/mnist-test.npz');
  const out: Sample[] = [];
  for await (const b of ds.batches(n, { limit: n })) for (let i = 0; i < b.shape[0]!; i++) out.push([Float32Array.from((b.x as Float32Array).subarray(i * 784, (i + 1) * 784))]);
  await ds.close();
  return out;
}

const cache = new Map<string, Promise<Model>>();

/** The fixture after cleanup (and quantize, for `qdq`), built once per file; callers get a copy. */
async function fixture(name: string, qdq = false): Promise<Model> {
  const key = `${name}/${qdq}`;
  if (!cache.has(key)) cache.set(key, build(name, qdq));
  return loadModel(modelToBytes(await cache.get(key)!));
}

async function build(name: string, qdq: boolean): Promise<Model> {
  const m = await loadModel(`fixtures/${name}.onnx`);
  await cleanup.run(m, validateOptions('cleanup', cleanup.options, {}), ctx);
  if (qdq) await quantize.run(m, validateOptions('quantize', quantize.options, { calib: 'fixtures/data/mnist-calib.npz', calibSamples: 64, activationType: 'int8', minConvInputChannels: 0, target: 'size' }), ctx);
  return m;
}

const argmax = (v: Float32Array) => v.reduce((best, x, i) => (x > v[best]! ? i : best), 0);

describe('export-tflite: output kinds', () => {
  it('export-tflite: full int8 from the calibrated QDQ dscnn matches onnxruntime int8 within a few quantization steps', async () => {
    const model = await fixture('dscnn', true);
    const result = await exportTflite(model, { kind: 'int8' });
    const t = result.model.tensors;
    const conv = result.model.operators.find((o) => o.op === 'CONV_2D')!;
    expect(t[conv.inputs[0]!]!.type).toBe('INT8');
    expect(t[conv.inputs[2]!]!.type).toBe('INT32');
    expect(conv.version).toBe(3);
    const w = t[conv.inputs[1]!]!;
    expect(w.quantization!.zeroPoint.every((z) => z === 0)).toBe(true);
    expect(w.quantization!.axis).toBe(0);
    const dw = result.model.operators.find((o) => o.op === 'DEPTHWISE_CONV_2D')!;
    expect(t[dw.inputs[1]!]!.quantization!.axis).toBe(3);
    const weights = new Int8Array(w.data!.buffer, w.data!.byteOffset, w.data!.length);
    expect(Math.min(...weights)).toBeGreaterThanOrEqual(-127);
    const samples = await mnist(16);
    const cmp = await compareWithOnnx(modelToBytes(model), result, samples);
    expect(cmp.outputs[0]!.cosine).toBeGreaterThan(0.999);
    const same = cmp.tflite.filter((v, i) => argmax(v) === argmax(cmp.onnx[i]!)).length;
    expect(same).toBeGreaterThanOrEqual(15);
  });

  it('export-tflite: int8 I/O gives int8 input and output tensors with their parameters', async () => {
    const model = await fixture('dscnn', true);
    const result = await exportTflite(model, { kind: 'int8', io: 'int8' });
    expect(result.inputs[0]!.dtype).toBe('int8');
    const cmp = await compareWithOnnx(modelToBytes(model), result, await mnist(4));
    expect(cmp.outputs[0]!.cosine).toBeGreaterThan(0.99);
  });

  it('export-tflite: int8 FULLY_CONNECTED (lenet5): per-tensor weights in [−127, 127] and a per-tensor int32 bias', async () => {
    const model = await fixture('lenet5', true);
    const result = await exportTflite(model, { kind: 'int8' });
    const t = result.model.tensors;
    const fcs = result.model.operators.filter((o) => o.op === 'FULLY_CONNECTED' && t[o.inputs[0]!]!.type === 'INT8');
    expect(fcs.length).toBeGreaterThanOrEqual(2);
    for (const fc of fcs) {
      const [x, w, b] = fc.inputs.map((i) => t[i]!);
      expect(fc.version).toBe(4);
      expect(w!.quantization!.scale).toHaveLength(1);
      expect(w!.quantization!.zeroPoint).toEqual([0]);
      expect(b!.type).toBe('INT32');
      expect(b!.quantization!.scale).toEqual([Math.fround(x!.quantization!.scale[0]! * w!.quantization!.scale[0]!)]);
    }
  });

  it('export-tflite: int8 needs a QDQ model', async () => {
    const model = await fixture('mlp');
    await expect(exportTflite(model, { kind: 'int8' })).rejects.toBeInstanceOf(InputError);
  });

  for (const kind of ['float16', 'dynamic'] as const) {
    it(`export-tflite: ${kind} lenet5 is smaller and keeps top-1`, async () => {
      const model = await fixture('lenet5');
      const f32 = await exportTflite(model);
      const result = await exportTflite(model, { kind });
      expect(result.bytes.length).toBeLessThan(f32.bytes.length * (kind === 'float16' ? 0.55 : 0.3));
      const cmp = await compareWithOnnx(modelToBytes(model), result, await mnist(16));
      expect(cmp.outputs[0]!.cosine).toBeGreaterThan(0.999);
      const same = cmp.tflite.filter((v, i) => argmax(v) === argmax(cmp.onnx[i]!)).length;
      expect(same).toBeGreaterThanOrEqual(15);
    });
  }
});
