/**
 * tfjs executor: its forward equals onnxruntime's on every fixture and on their pruned and
 * quantized outputs (the graphs distillation trains).
 */
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { passes } from '../../../passes/index.ts';
import { openDataset } from '../../../src/data/dataset.ts';
import { loadModel } from '../../../src/io/load.ts';
import { modelToBytes } from '../../../src/io/save.ts';
import type { Model } from '../../../src/ir/model.ts';
import { runPipeline } from '../../../src/pipeline/run.ts';
import { tfjsRuntime } from '../../../src/runtime/tfjs/session.ts';

let batch: { x: Float32Array; shape: number[] };

beforeAll(async () => {
  const ds = await openDataset('fixtures/data/mnist-test.npz');
  for await (const b of ds.batches(32)) {
    batch = { x: b.x as Float32Array, shape: b.shape };
    break;
  }
  await ds.close();
});

/** Largest |tfjs - onnxruntime| over the logits of one batch (ORT without graph rewrites, so Q/DQ run as written). */
async function maxDiff(model: Model): Promise<number> {
  const session = await ort.InferenceSession.create(modelToBytes(model), { graphOptimizationLevel: 'disabled' });
  const ref = (await session.run({ input: new ort.Tensor('float32', batch.x, batch.shape) })).logits!.data as Float32Array;
  await session.release();
  const tfjs = await tfjsRuntime.open(model);
  const out = (await tfjs.run({ input: { dtype: 'float32', dims: batch.shape, data: batch.x } })).logits!.data as Float32Array;
  await tfjs.close();
  expect(out.length).toBe(ref.length);
  return out.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i]!)), 0);
}

describe('tfjs executor forward = onnxruntime', () => {
  for (const name of ['lenet5', 'mlp', 'dscnn', 'tinyvit', 'mobilenetv2']) {
    it(`fixture ${name}`, async () => {
      expect(await maxDiff(await loadModel(`fixtures/${name}.onnx`))).toBeLessThanOrEqual(1e-4);
    });
  }

  for (const name of ['lenet5', 'dscnn']) {
    it(`${name} pruned to 50 % channels`, async () => {
      const model = await loadModel(`fixtures/${name}.onnx`);
      await runPipeline(model, [{ pass: passes.prune!, options: { channels: 0.5, verify: false } }]);
      expect(await maxDiff(model)).toBeLessThanOrEqual(1e-4);
    });
  }

  it('lenet5 quantized to int8 QDQ (weights as float shadows, fake-quant activations)', async () => {
    const model = await loadModel('fixtures/lenet5.onnx');
    await runPipeline(model, [{ pass: passes.quantize!, options: { calib: 'fixtures/data/mnist-calib.npz', calibSamples: 64, target: 'size' } }]);
    expect(model.graph.nodes.some((n) => n.opType === 'QuantizeLinear')).toBe(true);
    expect(await maxDiff(model)).toBeLessThanOrEqual(1e-4);
  });
});
