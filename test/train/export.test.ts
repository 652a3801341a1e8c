import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTrainingBackend, Seeded } from '../../src/train/backend.ts';
import { MODELS } from '../../fixtures/scripts/models.ts';
import { runModel } from '../helpers/run-model.ts';
import { modelToBytes } from '../../src/io/save.ts';

describe('ONNX export of trained layers', () => {
  beforeAll(async () => {
    await initTrainingBackend();
  });

  for (const [name, build] of Object.entries(MODELS)) {
    it(`export: ${name} in onnxruntime computes the tfjs inference forward`, async () => {
      const net = build(new Seeded(11));
      const rng = new Seeded(12);
      // One training step's forward moves the BatchNorm running statistics off 0 and 1.
      tf.tidy(() => net.forward(tf.tensor(Float32Array.from({ length: 8 * 784 }, () => rng.uniform()), [8, 1, 28, 28]), true));
      const x = Float32Array.from({ length: 3 * 784 }, () => rng.uniform());
      const expected = tf.tidy(() => net.forward(tf.tensor(x, [3, 1, 28, 28]), false).dataSync() as Float32Array);
      const { logits } = await runModel(modelToBytes(net.toOnnx()), { input: { data: x, dims: [3, 1, 28, 28] } });
      expect(logits).toHaveLength(30);
      const scale = Math.max(...expected.map(Math.abs));
      for (let i = 0; i < 30; i++) expect(Math.abs(logits![i]! - expected[i]!)).toBeLessThan(1e-4 * Math.max(1, scale));
    });
  }
});
