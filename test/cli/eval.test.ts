import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpz } from '../../src/data/npz.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { saveModel } from '../../src/io/save.ts';
import { cli } from '../helpers/cli.ts';


const CALIB = 'fixtures/data/mnist-calib.npz';
const TEST = 'fixtures/data/mnist-test.npz';

/**
 * A nearest-centroid classifier on real MNIST: W = class means of the calibration split,
 * bias = -|c|²/2, so argmax(Wx + b) is the nearest centroid. Its accuracy is computed
 * independently below, in float64, and must match what `eval` measures in onnxruntime.
 */
let dir: string;
let good: string;
let broken: string;
let expectedAccuracy: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shrinkray-eval-'));
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
    b.node('Gemm', [flat, b.initializer('w', w, [10, 784]), b.initializer('b', bias, [10])], { transB: 1 }, { outputs: ['logits'] });
    b.output('logits', 'float32', ['N', 10]);
    return b.build();
  };
  good = join(dir, 'centroids.onnx');
  broken = join(dir, 'broken.onnx');
  await saveModel(build(Float32Array.from(centroids)), good);
  await saveModel(build(new Float32Array(10 * 784)), broken);

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
  expectedAccuracy = correct / ty.length;
});

describe('eval', () => {
  it('eval: measures top-1 accuracy, sizes, params and latency on real MNIST', async () => {
    const r = await cli('eval', good, '--data', TEST, '--json');
    expect(r.code, r.err).toBe(0);
    const stage = JSON.parse(r.out).stages.at(-1);
    expect(stage.accuracy.samples).toBe(2000);
    expect(stage.accuracy.top1).toBeCloseTo(expectedAccuracy, 3);
    expect(stage.accuracy.top1).toBeGreaterThan(0.75);
    expect(stage.params).toBe(7850);
    expect(stage.sizeBytes).toBe(readFileSync(good).byteLength);
    expect(stage.gzipBytes).toBeLessThan(stage.sizeBytes);
    expect(stage.latency.batch1.p50).toBeGreaterThan(0);
    expect(stage.latency.batchN.n).toBe(32);
  });

  it('eval: a broken model (weights zeroed) loses accuracy and --max-accuracy-drop exits 1 with the report written', async () => {
    const report = join(dir, 'broken.json');
    const md = join(dir, 'broken.md');
    const r = await cli('eval', broken, '--baseline', good, '--data', TEST, '--max-accuracy-drop', '1', '--report', report, '--report', md, '--json', '--no-latency');
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/budget maxAccuracyDrop failed/);
    const written = JSON.parse(readFileSync(report, 'utf8'));
    expect(written.stages[1].deltas.accuracyPoints).toBeLessThan(-50);
    expect(written.stages[1].agreement.top1Match).toBeLessThan(0.5);
    expect(written.budgets[0].pass).toBe(false);
    expect(readFileSync(md, 'utf8')).toContain('maxAccuracyDrop');
  });

  it('eval: the same model against itself agrees fully and meets the budget', async () => {
    const r = await cli('eval', good, '--baseline', good, '--data', TEST, '--limit', '200', '--max-accuracy-drop', '0', '--json', '--no-latency');
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out).stages[1];
    expect(s.agreement.top1Match).toBe(1);
    expect(s.agreement.maxAbsError).toBe(0);
  });

  it('eval: data whose shape does not fit the model input exits 2 naming the array and expected shape', async () => {
    const b = new GraphBuilder('flat');
    const input = b.input('input', 'float32', ['N', 784]);
    const [y] = b.node('Relu', [input]);
    b.output(y, 'float32', ['N', 784]);
    const flat = join(dir, 'flat.onnx');
    await saveModel(b.build(), flat);
    const r = await cli('eval', flat, '--data', TEST, '--no-latency');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/data set x has shape \[2000,1,28,28\] but model input 'input' expects \[\?,784\]|expects \[N,784\]/);
  });
});
