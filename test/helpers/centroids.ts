/**
 * Test helper: a nearest-centroid classifier on real MNIST. W = class means of the
 * calibration split, bias = -|c|²/2, so argmax(Wx + b) is the nearest centroid. Its
 * accuracy is computed here independently, in float64, for tests to compare with what the
 * tool measures in onnxruntime.
 */
import { readNpz } from '../../src/data/npz.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';

export const CALIB = 'fixtures/data/mnist-calib.npz';
export const TEST = 'fixtures/data/mnist-test.npz';

export interface Centroids {
  model: Model;
  /** Same graph with every weight zeroed. */
  broken: Model;
  /** Top-1 accuracy on the test split, computed in float64 without onnxruntime. */
  testAccuracy: number;
}

export async function centroidClassifier(): Promise<Centroids> {
  const calib = await readNpz(CALIB);
  const x = calib.x.data as Float32Array;
  const y = calib.y.data as BigInt64Array;
  const centroids = new Float64Array(10 * 784);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < y.length; i++) {
    const c = Number(y[i]);
    counts[c]++;
    for (let k = 0; k < 784; k++) centroids[c * 784 + k] += x[i * 784 + k];
  }
  for (let c = 0; c < 10; c++) for (let k = 0; k < 784; k++) centroids[c * 784 + k] /= counts[c];
  const bias = Float32Array.from({ length: 10 }, (_, c) => {
    let s = 0;
    for (let k = 0; k < 784; k++) s += centroids[c * 784 + k] ** 2;
    return -s / 2;
  });
  const build = (w: Float32Array) => {
    const b = new GraphBuilder('centroids');
    const input = b.input('input', 'float32', ['N', 1, 28, 28]);
    const [flat] = b.node('Flatten', [input]);
    b.node('Gemm', [flat, b.initializer('w', w, [10, 784]), b.initializer('b', bias, [10])], { transB: 1 }, { name: 'classifier', outputs: ['logits'] });
    b.output('logits', 'float32', ['N', 10]);
    return b.build();
  };

  const test = await readNpz(TEST);
  const tx = test.x.data as Float32Array;
  const ty = test.y.data as BigInt64Array;
  let correct = 0;
  for (let i = 0; i < ty.length; i++) {
    let best = -1;
    let bestScore = -Infinity;
    for (let c = 0; c < 10; c++) {
      let s = bias[c];
      for (let k = 0; k < 784; k++) s += centroids[c * 784 + k] * tx[i * 784 + k];
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    if (best === Number(ty[i])) correct++;
  }
  return { model: build(Float32Array.from(centroids)), broken: build(new Float32Array(10 * 784)), testAccuracy: correct / ty.length };
}
