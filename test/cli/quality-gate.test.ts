import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpz } from '../../src/data/npz.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { saveModel } from '../../src/io/save.ts';
import { cli } from '../helpers/cli.ts';
import { randomFloats } from '../helpers/run-model.ts';
import { sampleRateModel } from '../helpers/subgraph-models.ts';
import { wideRangeConv } from '../quant/graphs.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-gate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const K = 32;
const N = 128;

/**
 * y = x · W, W [K, 16]. With `outlier`, feature 0 (always 0 in the data, like an image's
 * blank border) has weights of 1000: int4 blocks along K then spend their 16 levels on it and
 * round every useful weight to zero.
 */
function linear(outlier: boolean): Model {
  const w = randomFloats(K * 16, 2);
  if (outlier) w.fill(1000, 0, 16);
  const b = new GraphBuilder('linear');
  b.input('x', 'float32', ['N', K]);
  b.node('MatMul', ['x', b.initializer('W', w, [K, 16])], {}, { name: 'mm', outputs: ['y'] });
  b.output('y', 'float32', ['N', 16]);
  return b.build();
}

/** x [K] → MatMul → Relu → MatMul → 10; feature 3 of x is unused (zero weights). */
function twoLayers(): Model {
  const b = new GraphBuilder('two');
  b.input('x', 'float32', ['N', K]);
  const w1 = randomFloats(K * 32, 1).fill(0, 3 * 32, 4 * 32);
  const [h] = b.node('MatMul', ['x', b.initializer('w1', w1, [K, 32])], {}, { name: 'mm1' });
  const [r] = b.node('Relu', [h!], {}, { name: 'relu' });
  b.node('MatMul', [r!, b.initializer('w2', randomFloats(320, 2), [32, 10])], {}, { name: 'mm2', outputs: ['y'] });
  b.output('y', 'float32', ['N', 10]);
  return b.build();
}

let data: string;
let wild: string;
beforeAll(async () => {
  const x = randomFloats(N * K, 9);
  for (let i = 0; i < N; i++) x[i * K] = 0;
  data = join(dir, 'data.npz');
  await writeNpz(data, { x: { dtype: 'float32', shape: [N, K], data: x } });
  // Calibration with one wild value of the unused feature 3: minmax spends x's 8 bits on it.
  const w = x.slice();
  w[3] = 5000;
  wild = join(dir, 'wild.npz');
  await writeNpz(wild, { x: { dtype: 'float32', shape: [N, K], data: w } });
  await saveModel(linear(true), join(dir, 'outlier.onnx'));
  await saveModel(linear(false), join(dir, 'plain.onnx'));
  await saveModel(twoLayers(), join(dir, 'two.onnx'));
});

describe('quality gate', () => {
  it('gate: a harmful int4 result (outlier weights) fails with exit 1, the report written and no model', async () => {
    const out = join(dir, 'outlier-int4.onnx');
    const json = join(dir, 'outlier.json');
    const md = join(dir, 'outlier.md');
    const r = await cli('quantize-int4', join(dir, 'outlier.onnx'), '-o', out, '--data', data, '--no-latency', '--quiet', '--report', json, '--report', md);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^shrinkray: budget minSqnr failed: ${out}: output 'y' SQNR -?\\d+\\.\\d dB \\(cosine -?0\\.\\d{4}\\) vs its input on ${data} \\(128 samples\\), under the 20 dB floor\\n$`));
    expect(existsSync(out)).toBe(false);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    const q = report.stages.at(-1).quality;
    expect(q.data).toBe(data);
    expect(q.outputs[0].output).toBe('y');
    expect(q.outputs[0].sqnrDb).toBeLessThan(3);
    expect(report.budgets).toEqual([expect.objectContaining({ budget: 'minSqnr', limit: 20, pass: false })]);
    expect(readFileSync(md, 'utf8')).toContain('### Outputs vs the input model');
    // The user may accept the loss: a lower floor passes.
    const accepted = await cli('quantize-int4', join(dir, 'outlier.onnx'), '-o', out, '--data', data, '--no-latency', '--quiet', '--min-sqnr', '0');
    expect(accepted.code, accepted.err).toBe(0);
  });

  it('gate: a harmless int4 result passes the default floor, its SQNR in the report', async () => {
    const r = await cli('quantize-int4', join(dir, 'plain.onnx'), '-o', join(dir, 'plain-int4.onnx'), '--no-latency', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    const q = report.stages.at(-1).quality;
    expect(q).toMatchObject({ data: 'random inputs', samples: 8 });
    expect(q.outputs[0].sqnrDb).toBeGreaterThan(20);
    expect(q.outputs[0].cosine).toBeGreaterThan(0.99);
    expect(report.budgets).toEqual([expect.objectContaining({ budget: 'minSqnr', limit: 20, pass: true })]);
  });

  it('gate: static int8 without labels returns the layer that breaks the SQNR floor to float', async () => {
    // --target size: placement times layers on this machine; these tests are about the SQNR fallback alone.
    const r = await cli('quantize', join(dir, 'two.onnx'), '-o', join(dir, 'two-int8.onnx'), '--calib', wild, '--calibration', 'minmax', '--target', 'size', '--no-latency', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.notes).toContainEqual(expect.stringMatching(/^fallback: kept mm1 \(MatMul\) in float, sensitivity rank 1 \(output SQNR -?\d+\.\d dB with only it quantized\)$/));
    expect(report.notes).toContainEqual(expect.stringMatching(/^fallback: 1 of 2 layers to float after 1 evaluation\(s\) \(doubling, then bisection over the ranking\); SQNR -?\d+\.\d → \d+\.\d dB$/));
    expect(report.notes).toContainEqual(expect.stringMatching(/^quality: worst output SQNR against float -?\d+\.\d dB all-int8, \d+\.\d dB with mm1 in float \(floor 20 dB, steered by 128 samples of .*wild\.npz\)$/));
    expect(report.stages.at(-1).quality.outputs[0].sqnrDb).toBeGreaterThan(20);
    // compress: --min-sqnr reaches the pass too (0: no fallback), and the report's floor.
    const off = await cli('compress', join(dir, 'two.onnx'), '-o', join(dir, 'two-off.onnx'), '--passes', 'quantize', '--set', `quantize.calib=${wild}`, '--set', 'quantize.calibration=minmax', '--set', 'quantize.target=size', '--min-sqnr', '0', '--no-latency', '--json');
    expect(off.code, off.err).toBe(0);
    expect(JSON.parse(off.out).notes.some((n: string) => n.startsWith('fallback:'))).toBe(false);
  });

  it('gate: static int8 that no fallback can save exits 1 with the report written', async () => {
    const json = join(dir, 'linear.json');
    const out = join(dir, 'linear-int8.onnx');
    const r = await cli('quantize', join(dir, 'plain.onnx'), '-o', out, '--calib', wild, '--calibration', 'minmax', '--target', 'size', '--no-latency', '--quiet', '--report', json);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^shrinkray: pass 'quantize': SQNR floor 20 dB cannot be met: with 0 of 1 layers in float the worst output is still at -?\d+\.\d dB against float; only the float model meets it\n$/);
    expect(existsSync(out)).toBe(false);
    expect(JSON.parse(readFileSync(json, 'utf8')).notes.at(-1)).toMatch(/^failed: pass 'quantize': SQNR floor 20 dB cannot be met/);
  });

  it('gate: random inputs take the --input-shape sizes of free dims (a free width no longer skips the gate)', async () => {
    const b = new GraphBuilder('free-width');
    b.input('x', 'float32', ['N', 3, 'W']);
    const [h] = b.node('Conv', ['x', b.initializer('w1', randomFloats(8 * 3 * 3, 4), [8, 3, 3])], { pads: [1, 1] }, { name: 'conv1' });
    const [r] = b.node('Relu', [h!]);
    b.node('Conv', [r!, b.initializer('w2', randomFloats(4 * 8, 5), [4, 8, 1])], {}, { name: 'conv2', outputs: ['y'] });
    b.output('y', 'float32', ['N', 4, 'W']);
    const input = join(dir, 'free-width.onnx');
    await saveModel(b.build(), input);
    const r1 = await cli('prune', input, '-o', join(dir, 'free-width-pruned.onnx'), '--channels', '0.5', '--input-shape', 'x:1,3,16', '--no-latency', '--json', '--min-sqnr', '0');
    expect(r1.code, r1.err).toBe(0);
    const report = JSON.parse(r1.out);
    expect(report.notes.join()).not.toMatch(/outputs not compared/);
    expect(report.stages.at(-1).quality).toMatchObject({ data: 'random inputs', samples: 8 });
  });

  it('gate: a lossy result random inputs cannot compare is a failure naming the flags; --input-value runs the gate, --no-quality-gate accepts it', async () => {
    const input = join(dir, 'rate.onnx');
    await saveModel(sampleRateModel(), input);
    const out = join(dir, 'rate-int4.onnx');
    const run = (...flags: string[]) => cli('quantize-int4', input, '-o', out, '--no-latency', '--quiet', ...flags);
    const unchecked = await run();
    expect(unchecked.code).toBe(1);
    expect(unchecked.err).toMatch(/^shrinkray: quality gate: the output could not be compared with \S+rate\.onnx \(onnxruntime rejected .*Reshape.*\); give --data, or --input-value\/--input-shape so random inputs run the model, or --no-quality-gate to accept it unchecked\n$/);
    expect(existsSync(out)).toBe(false);
    const gated = await run('--input-value', 'sr=16000', '--json');
    expect(gated.code, gated.err).toBe(0);
    expect(JSON.parse(gated.out).stages.at(-1).quality).toMatchObject({ data: 'random inputs', samples: 8 });
    rmSync(out);
    const accepted = await run('--no-quality-gate', '--json');
    expect(accepted.code, accepted.err).toBe(0);
    expect(JSON.parse(accepted.out).notes).toContain('quality gate not run: --no-quality-gate');
    expect(existsSync(out)).toBe(true);
  });

  it('gate: the passes\' own runtime checks take --input-value too (dynamic int8 and pruning run the model only on a valid rate)', async () => {
    const input = join(dir, 'rate.onnx');
    await saveModel(sampleRateModel(), input);
    const q = await cli('quantize', input, '-o', join(dir, 'rate-q.onnx'), '--mode', 'dynamic', '--no-latency', '--quiet');
    expect(q.code).toBe(1);
    expect(q.err).toMatch(/onnxruntime rejected the dynamic int8 model: .*; it failed on random inputs: --input-value and --input-shape give inputs it needs\)\n$/);
    for (const command of [['quantize', '--mode', 'dynamic'], ['prune', '--sparsity', '0.3']]) {
      const r = await cli(command[0]!, input, '-o', join(dir, `rate-${command[0]}.onnx`), ...command.slice(1), '--input-value', 'sr=16000', '--no-latency', '--quiet', '--min-sqnr', '0');
      expect(r.code, r.err).toBe(0);
    }
  });

  it('gate: dynamic int8 steers its fallback by the calibration data, else the data the gate judges (--data), else random inputs of --input-shape', async () => {
    const input = join(dir, 'wide.onnx');
    await saveModel(wideRangeConv(), input);
    const rows = (seed: number) => ({ dtype: 'float32' as const, shape: [24, 4, 16], data: randomFloats(24 * 4 * 16, seed) });
    const [judged, calib] = [join(dir, 'wide-data.npz'), join(dir, 'wide-calib.npz')];
    await writeNpz(judged, { x: rows(51) });
    await writeNpz(calib, { x: rows(52) });
    const run = async (...flags: string[]) => {
      const r = await cli('quantize', input, '-o', join(dir, 'wide-int8.onnx'), '--mode', 'dynamic', '--no-latency', '--json', ...flags);
      expect(r.code, r.err).toBe(0);
      const report = JSON.parse(r.out);
      expect(report.notes).toContainEqual(expect.stringMatching(/^fallback: moved conv1 \(Conv\) to weight-only int8/));
      expect(report.stages.at(-1).quality.outputs[0].sqnrDb).toBeGreaterThan(20);
      return (report.notes as string[]).find((n) => n.startsWith('quality: worst output SQNR'));
    };
    expect(await run('--input-shape', 'x:1,4,16')).toMatch(/\(floor 20 dB, steered by 8 random inputs, the data the quality gate judges\)$/);
    expect(await run('--data', judged)).toMatch(/\(floor 20 dB, steered by 24 samples of \S+wide-data\.npz, the data the quality gate judges\)$/);
    expect(await run('--data', judged, '--calib', calib)).toMatch(/\(floor 20 dB, steered by 24 samples of \S+wide-calib\.npz\)$/);
    // No gate, no calibration: nothing to steer by, and nothing judges the harm either (the user's choice).
    const unchecked = await cli('quantize', input, '-o', join(dir, 'wide-unchecked.onnx'), '--mode', 'dynamic', '--no-latency', '--json', '--no-quality-gate');
    expect(unchecked.code, unchecked.err).toBe(0);
    expect(JSON.parse(unchecked.out).notes.some((n: string) => n.startsWith('fallback:'))).toBe(false);
  });
});
