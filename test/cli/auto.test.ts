import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpz, writeNpz } from '../../src/data/npz.ts';
import { loadModel } from '../../src/io/load.ts';
import { cli } from '../helpers/cli.ts';

let dir: string;
let unlabelled: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shrinkray-auto-'));
  unlabelled = join(dir, 'unlabelled.npz');
  const { x } = await readNpz('fixtures/data/mnist-calib.npz');
  await writeNpz(unlabelled, { x: x! });
});

const ops = async (path: string) => new Set((await loadModel(path)).graph.nodes.map((n) => n.opType));
const quick = ['--no-latency', '--compressed-sizes', 'never', '--json'];

describe('cli auto', () => {
  it('auto: labelled data → static int8 with accuracy fallback, gated on accuracy', async () => {
    const out = join(dir, 'labelled.onnx');
    const r = await cli('auto', 'fixtures/lenet5.onnx', '-o', out, '--data', 'fixtures/data/mnist-test.npz', '--calib', 'fixtures/data/mnist-calib.npz', '--max-accuracy-drop', '0.5', ...quick);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.notes[0]).toMatch(/^auto: labelled data: static int8 with accuracy-driven fallback/);
    expect(report.notes.some((n: string) => /^fallback: accuracy float/.test(n))).toBe(true);
    expect(report.budgets.map((b: { budget: string; pass: boolean }) => [b.budget, b.pass])).toEqual([['maxAccuracyDrop', true], ['minSqnr', true]]);
    expect(await ops(out)).toContain('QuantizeLinear');
  });

  it('auto: unlabelled data → static int8 gated by top-1 agreement with the input', async () => {
    const out = join(dir, 'unlabelled.onnx');
    const r = await cli('auto', 'fixtures/lenet5.onnx', '-o', out, '--data', unlabelled, '--limit', '300', ...quick);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.notes[0]).toMatch(/^auto: unlabelled data: static int8 calibrated on it/);
    expect(report.notes[1]).toMatch(/calibrated on the evaluation data/);
    expect(report.budgets[0]).toMatchObject({ budget: 'minAgreement', limit: 0.99, pass: true });
    expect(await ops(out)).toContain('QuantizeLinear');
  });

  it('auto: static int8 under the agreement gate gives way to dynamic int8, and says why', async () => {
    // A 100 % gate: mlp's static and dynamic int8 each disagree on 2 of 999 samples.
    const out = join(dir, 'gate.onnx');
    const r = await cli('auto', 'fixtures/mlp.onnx', '-o', out, '--data', unlabelled, '--max-accuracy-drop', '0', '--no-latency', '--compressed-sizes', 'never');
    expect(r.code).toBe(1);
    // The agreement itself depends on which layers placement (timed in onnxruntime) kept in float.
    expect(r.err).toMatch(/^auto: static int8 missed the agreement gate \(.* 99\.\d0% of 999 samples, under the 100\.00% budget\); trying dynamic int8$/m);
    expect(r.out.match(/## shrinkray report/g)).toHaveLength(2);
    expect(r.out.split('## shrinkray report')[2]).toContain('- auto: static int8 missed the agreement gate');
    expect(existsSync(out)).toBe(false); // a run that fails its budget leaves its report, never its model
  });

  it('auto: no data → dynamic int8, and it says nothing could check accuracy', async () => {
    const out = join(dir, 'none.onnx');
    const r = await cli('auto', 'fixtures/mlp.onnx', '-o', out, '--no-latency', '--compressed-sizes', 'never');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('auto: no data set: static int8 cannot be calibrated, so dynamic int8');
    expect(r.err).toContain('auto: quantize {"mode":"dynamic"}: weight-only (dynamic) int8');
    expect(r.out).toContain('## shrinkray report');
    expect(await ops(out)).toContain('DynamicQuantizeLinear');
  });
});
