/**
 * Large models with default flags: above --large-model, latency is left out and verification
 * checks the saved file without running either model, each with a note naming the flag that
 * forces the full run. Small models with a lowered limit stand in for 1 GiB ones.
 */
import { mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckError } from '../../src/errors.ts';
import { LARGE_MODEL_DEFAULT, planRuns } from '../../src/cli/large-model.ts';
import { measureModel } from '../../src/evaluate/measure.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { loadModel } from '../../src/io/load.ts';
import { saveModel } from '../../src/io/save.ts';
import { parseSize } from '../../src/report/size.ts';
import { FULL_CHECK_LIMIT } from '../../src/runtime/check.ts';
import { verifySaved } from '../../src/runtime/verify.ts';
import { cli } from '../helpers/cli.ts';
import { errorOf } from '../helpers/errors.ts';
import { randomFloats } from '../helpers/run-model.ts';

let dir: string;
let model: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shrinkray-large-'));
  const b = new GraphBuilder('mlp', { opsets: { '': 17 } });
  const x = b.input('x', 'float32', ['N', 64]);
  const [h] = b.node('MatMul', [x, b.initializer('w1', randomFloats(64 * 64, 1), [64, 64])], {}, { name: 'fc1' });
  const [i] = b.node('Identity', [h]);
  const [y] = b.node('MatMul', [i, b.initializer('w2', randomFloats(64 * 64, 2), [64, 64])], {}, { name: 'fc2' });
  b.output(y, 'float32', ['N', 64]);
  model = join(dir, 'mlp.onnx');
  await saveModel(b.build(), model);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Report = { notes: string[]; stages: Array<{ name: string; latency?: unknown; quality?: unknown; params: number; sparsity: number }> };

async function compress(...flags: string[]): Promise<Report> {
  const r = await cli('compress', model, '-o', join(dir, 'out.onnx'), '--json', ...flags);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as Report;
}

describe('large models', () => {
  it('large: the default limit is the size above which passes check structurally', () => {
    expect(parseSize(LARGE_MODEL_DEFAULT)).toBe(FULL_CHECK_LIMIT);
    expect(planRuns({}, FULL_CHECK_LIMIT)).toEqual({ latency: true, verify: 'outputs', quality: true });
    expect(planRuns({}, FULL_CHECK_LIMIT + 1)).toMatchObject({ latency: false, verify: 'saved' });
    // A speed-up budget needs latency: it is measured whatever the size.
    expect(planRuns({ minSpeedup: ['1.1'] }, FULL_CHECK_LIMIT + 1)).toMatchObject({ latency: true, verify: 'saved' });
    expect(planRuns({ minSpeedup: ['1.1'] }, FULL_CHECK_LIMIT + 1).latencyNote).toBeUndefined();
  });

  it('large: above --large-model, compress leaves latency out and verifies the saved file, saying so and naming the flags', async () => {
    const report = await compress('--large-model', '1KB');
    expect(report.stages.every((s) => s.latency === undefined)).toBe(true);
    expect(report.notes).toContainEqual(expect.stringMatching(/^latency not measured: the model is 33\.\d kB|^latency not measured: the model is 3[34]\.\d KB.*over --large-model 1KB \(--latency measures it\)$/));
    expect(report.notes).toContainEqual(expect.stringMatching(/^verified without running the models: .*outputs were not compared with the input model's \(--verify compares them on random inputs\)$/));
  });

  it('large: --latency and --verify force the full runs above the limit', async () => {
    const report = await compress('--large-model', '1KB', '--latency', '--verify');
    expect(report.stages.find((s) => s.name === 'output')!.latency).toBeDefined();
    expect(report.notes.join('\n')).not.toMatch(/latency not measured|verified without running/);
  });

  it('large: below the limit nothing is left out', async () => {
    const report = await compress();
    expect(report.stages.find((s) => s.name === 'input')!.latency).toBeDefined();
    expect(report.notes.join('\n')).not.toMatch(/latency not measured|verified without running/);
  });

  it('large: above the limit the quality gate (both models in onnxruntime) is left out with a note, and --min-sqnr or --quality-gate runs it', async () => {
    const quantize = async (...flags: string[]) => {
      const r = await cli('quantize', model, '-o', join(dir, 'q.onnx'), '--mode', 'dynamic', '--json', '--large-model', '1KB', ...flags);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as Report;
    };
    const skipped = await quantize();
    expect(skipped.notes).toContainEqual(expect.stringMatching(/^quality gate not run: the model is .* over --large-model 1KB \(--quality-gate, --min-sqnr or --data runs it\)$/));
    expect(skipped.stages.every((s) => s.quality === undefined)).toBe(true);
    for (const flag of [['--min-sqnr', '20'], ['--quality-gate']]) {
      const gated = await quantize(...flag);
      expect(gated.notes.join('\n')).not.toMatch(/quality gate not run/);
      expect(gated.stages.at(-1)!.quality).toBeDefined();
    }
  });

  it('large: eval leaves latency out above the limit with the same note', async () => {
    const r = await cli('eval', model, '--json', '--large-model', '1KB');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as Report;
    expect(report.stages[0]!.latency).toBeUndefined();
    expect(report.notes).toContainEqual(expect.stringMatching(/^latency not measured: .* \(--latency measures it\)$/));
  });

  it('large: the check without running finds a weight that differs in the saved file', async () => {
    const written = await loadModel(model);
    const copy = join(dir, 'copy.onnx');
    await saveModel(written, copy);
    await verifySaved(written, copy);
    // Change the first bytes of w2 in the file (a sampled place): the check must notice.
    const bytes = readFileSync(copy);
    const w2 = Buffer.from(randomFloats(64 * 64, 2).buffer);
    const at = bytes.indexOf(w2.subarray(0, 64));
    expect(at).toBeGreaterThan(0);
    const fd = openSync(copy, 'r+');
    writeSync(fd, Buffer.from(new Float32Array([123]).buffer), 0, 4, at);
    closeSync(fd);
    const err = await errorOf(verifySaved(written, copy));
    expect(err).toBeInstanceOf(CheckError);
    expect(err.message).toBe("verification failed: weight 'w2' of the saved output is not the one written");
  });

  it('large: an output weight computed while saving is counted from the saved file, not computed again', async () => {
    const b = new GraphBuilder('deferred', { opsets: { '': 17 } });
    const x = b.input('x', 'float32', ['N', 4]);
    const values = new Float32Array([0, 1, 0, 2]);
    let reads = 0;
    b.graph.addInitializer(new Tensor('w', 'float32', [4], {
      kind: 'raw',
      chunk: {
        length: 16,
        read: () => (reads++, new Uint8Array(values.buffer)),
        produce: async () => new Uint8Array(values.buffer),
      },
    }));
    const [y] = b.node('Add', [x, 'w']);
    b.output(y, 'float32', ['N', 4]);
    const m = b.build();
    const path = join(dir, 'deferred.onnx');
    await saveModel(m, path);
    const { stage } = await measureModel('output', m, path, { compressedSizes: 'never' });
    expect(stage).toMatchObject({ params: 4, sparsity: 0.5 });
    expect(reads).toBe(0);
  });
});
