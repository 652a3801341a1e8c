import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTrainingBackend, Seeded } from '../../src/train/backend.ts';
import { batchNorm, dense, relu, reshape } from '../../src/train/layers.ts';
import { Net } from '../../src/train/net.ts';
import { accuracy, fit, gatherBatch, loadLabelled, type Labelled } from '../../src/train/train.ts';

const tiny = (seed: number) => {
  const rng = new Seeded(seed);
  return new Net('tiny', [1, 28, 28], 10, [reshape('flat', [-1, 784]), dense(rng, 'fc1', 784, 32, 'Gemm'), relu('relu'), dense(rng, 'fc2', 32, 10, 'MatMul')]);
};

function subset(data: Labelled, n: number): Labelled {
  const per = data.x.length / data.length;
  return { x: data.x.subarray(0, n * per), y: data.y.subarray(0, n), sampleShape: data.sampleShape, length: n };
}

describe('training', () => {
  let train: Labelled;
  let test: Labelled;
  beforeAll(async () => {
    await initTrainingBackend();
    train = subset(await loadLabelled('fixtures/data/mnist-train.npz'), 1024);
    test = await loadLabelled('fixtures/data/mnist-test.npz');
  });

  it('train: loadLabelled reads the whole test split with its labels', () => {
    expect(test.length).toBe(2000);
    expect(test.sampleShape).toEqual([1, 28, 28]);
    const perClass = Array.from({ length: 10 }, (_, c) => test.y.filter((y) => y === c).length);
    expect(perClass).toEqual([200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
    expect(test.x.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('train: fit learns digits and repeats bit for bit given the seeds', () => {
    const run = (seed: number) => {
      const net = tiny(seed);
      fit(net, train, { epochs: 2, batchSize: 64, learningRate: 3e-3, maxShift: 1, seed: seed + 1 });
      return { net, weights: net.trainable.map((v) => Array.from(v.dataSync())) };
    };
    const a = run(1);
    expect(accuracy(a.net, test)).toBeGreaterThan(0.7); // chance is 0.1
    expect(run(1).weights).toEqual(a.weights);
    expect(run(2).weights).not.toEqual(a.weights);
  });

  it('train: gatherBatch shifts each image by at most maxShift pixels, filling with zeros', () => {
    const image = Float32Array.from({ length: 16 }, (_, i) => i + 1); // 1x4x4
    const data: Labelled = { x: image, y: Int32Array.of(3), sampleShape: [1, 4, 4], length: 1 };
    const shifted = (dy: number, dx: number) =>
      Array.from({ length: 16 }, (_, i) => {
        const [r, c] = [Math.floor(i / 4) - dy, (i % 4) - dx];
        return r >= 0 && r < 4 && c >= 0 && c < 4 ? image[r * 4 + c]! : 0;
      });
    const candidates = [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => JSON.stringify(shifted(dy, dx))));
    const rng = new Seeded(9);
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const batch = gatherBatch(data, [0], 1, rng);
      expect(batch.y).toEqual(Int32Array.of(3));
      const got = JSON.stringify(Array.from(batch.x));
      expect(candidates).toContain(got);
      seen.add(got);
    }
    expect(seen.size).toBe(9);
    expect(Array.from(gatherBatch(data, [0], 0, rng).x)).toEqual(Array.from(image));
  });

  it('train: batchNorm keeps PyTorch running statistics (momentum 0.1, unbiased variance)', () => {
    const bn = batchNorm('bn', 2);
    const x = tf.tensor2d([1, 10, 3, 20, 5, 60], [3, 2]);
    const y = bn.apply(x, true);
    // Training output uses the batch's own (biased) statistics: channel 0 is [-1.22, 0, 1.22].
    expect(Array.from(y.dataSync()).filter((_, i) => i % 2 === 0).map((v) => +v.toFixed(3))).toEqual([-1.225, 0, 1.225]);
    // Running: 0.9 * (0, 1) + 0.1 * (mean, unbiased variance): channel 0 mean 3, var 4; channel 1 mean 30, var 700.
    const inference = bn.apply(tf.tensor2d([3, 30], [1, 2]), false).dataSync();
    const expected = [(3 - 0.3) / Math.sqrt(0.9 + 0.4 + 1e-5), (30 - 3) / Math.sqrt(0.9 + 70 + 1e-5)];
    expected.forEach((e, i) => expect(inference[i]).toBeCloseTo(e, 4));
  });
});
