import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { saveModel } from '../../src/io/save.ts';
import { cli } from '../helpers/cli.ts';
import { centroidClassifier, TEST } from '../helpers/centroids.ts';


let dir: string;
let good: string;
let broken: string;
let expectedAccuracy: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shrinkray-eval-'));
  const c = await centroidClassifier();
  good = join(dir, 'centroids.onnx');
  broken = join(dir, 'broken.onnx');
  await saveModel(c.model, good);
  await saveModel(c.broken, broken);
  expectedAccuracy = c.testAccuracy;
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

  it('eval: --compressed-sizes never leaves gzip/brotli out of the JSON and the Markdown table', async () => {
    const json = await cli('eval', good, '--json', '--no-latency', '--compressed-sizes', 'never');
    expect(json.code, json.err).toBe(0);
    const stage = JSON.parse(json.out).stages[0];
    expect([stage.sizeBytes, stage.gzipBytes, stage.brotliBytes]).toEqual([readFileSync(good).byteLength, undefined, undefined]);
    const md = await cli('eval', good, '--no-latency', '--compressed-sizes', 'never');
    expect(md.out).toMatch(/\| Stage \| Size \| vs input \| Params \|/);
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
