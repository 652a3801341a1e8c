import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/load.ts';
import { saveModel } from '../../src/io/save.ts';
import { centroidClassifier, CALIB, TEST } from '../helpers/centroids.ts';
import { cli } from '../helpers/cli.ts';

let dir: string;
let model: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shrinkray-pass-cli-'));
  model = join(dir, 'centroids.onnx');
  await saveModel((await centroidClassifier()).model, model);
});

describe('pass commands', () => {
  it('cli: quantize takes flags generated from the pass schema and reports accuracy before/after', async () => {
    const out = join(dir, 'q.onnx');
    const r = await cli('quantize', model, '-o', out, '--calib', CALIB, '--calib-samples', '256', '--calibration', 'minmax', '--data', TEST, '--json', '--no-latency', '--max-accuracy-drop', '2', '--eval-data', CALIB, '--target', 'size');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.stages.map((s: { name: string }) => s.name)).toEqual(['input', 'quantize', 'output']);
    const output = report.stages[2];
    expect(output.deltas.accuracyPoints).toBeGreaterThanOrEqual(-2);
    expect(output.sizeBytes).toBeLessThan(0.35 * report.stages[0].sizeBytes);
    expect(readFileSync(out).byteLength).toBe(output.sizeBytes);
    const ops = (await loadModel(out)).graph.nodes.map((n) => n.opType);
    expect(ops).toContain('DequantizeLinear');
  });

  it('cli: an accuracy budget quantize cannot meet exits 1, writes the report (why, and the ranking) and no model', async () => {
    const out = join(dir, 'impossible.onnx');
    const json = join(dir, 'impossible.json');
    // Ranges clipped at the 60th percentile lose samples; --eval-data doubles as the report's data set.
    const r = await cli('quantize', model, '-o', out, '--calib', CALIB, '--calib-samples', '64', '--calibration', 'percentile', '--percentile', '60', '--no-latency', '--max-accuracy-drop', '0', '--eval-data', TEST, '--report', json, '--target', 'size');
    expect(r.code, r.err).toBe(1);
    expect(r.err.trim().split('\n').at(-1)).toMatch(/^shrinkray: pass 'quantize': accuracy budget 0 pt cannot be met/);
    expect(existsSync(out)).toBe(false);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.stages.map((s: { name: string }) => s.name)).toEqual(['input']);
    expect(report.stages[0].accuracy.samples).toBe(2000);
    expect(report.notes.at(-1)).toMatch(/^failed: pass 'quantize': accuracy budget 0 pt cannot be met/);
    expect(report.notes.some((n: string) => n.includes('Sensitivity'))).toBe(true);
  });

  it('cli: a bad enum value for a pass flag is a usage error naming the flag', async () => {
    const r = await cli('quantize', model, '-o', join(dir, 'x.onnx'), '--calibration', 'guess');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/Argument: calibration, Given: "guess"/);
  });
});

describe('analyze command', () => {
  it('cli: analyze prints a per-layer accuracy-vs-sparsity table and writes it', async () => {
    const md = join(dir, 'sens.md');
    const r = await cli('analyze', model, '--data', TEST, '--limit', '300', '--sparsities', '0.5,0.99', '--json', '--report', md);
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out);
    expect(result.samples).toBe(300);
    const layer = result.layers.find((l: { node: string }) => l.node === 'classifier');
    expect(layer.points.map((p: { sparsity: number }) => p.sparsity)).toEqual([0.5, 0.99]);
    // Removing 99 % of a nearest-centroid classifier's weights must cost accuracy.
    expect(layer.points[1].drop).toBeGreaterThan(layer.points[0].drop);
    expect(readFileSync(md, 'utf8')).toContain('| classifier | Gemm |');
  });

  it('cli: analyze without --data is a usage error', async () => {
    const r = await cli('analyze', model);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/analyze needs --data/);
  });
});
