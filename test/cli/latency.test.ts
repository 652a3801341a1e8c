import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { saveModel } from '../../src/io/save.ts';
import { cli } from '../helpers/cli.ts';
import { randomFloats } from '../helpers/run-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-cli-latency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cli latency', () => {
  it('cli: compress times input and output interleaved with the threads asked for, stated in the report', async () => {
    const b = new GraphBuilder('mlp');
    const [h] = b.node('MatMul', [b.input('x', 'float32', ['N', 8]), b.initializer('w', randomFloats(64, 1), [8, 8])]);
    b.output(b.node('Relu', [b.node('Identity', [h])[0]!])[0]!, 'float32', ['N', 8]);
    const model = join(dir, 'mlp.onnx');
    await saveModel(b.build(), model);
    const r = await cli('compress', model, '-o', join(dir, 'out.onnx'), '--json', '--latency-threads', '2');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    const [input, output] = [report.stages[0], report.stages.at(-1)];
    for (const l of [input.latency, output.latency]) {
      expect(l.threads).toBe(2);
      expect(l.batch1.runs).toBeGreaterThanOrEqual(30);
      expect(l.batch1.p10).toBeLessThanOrEqual(l.batch1.p50);
    }
    // Paired: both models had the same rounds, and the speed-up is their p50 ratio.
    expect(output.latency.batchN.runs).toBe(input.latency.batchN.runs);
    expect(output.deltas.speedup).toBeCloseTo(input.latency.batch1.p50 / output.latency.batch1.p50, 9);
    expect(report.stages[1].latency).toBeUndefined();
  });

  // ONNX's own backend test model (Debian libonnx-testdata, dev machines only): random inputs
  // drive onnxruntime 1.30's STFT into a division by zero (SIGFPE).
  const stft = '/usr/share/libonnx-testdata/data/node/test_stft/model.onnx';
  it.skipIf(!existsSync(stft))('cli: a native crash of onnxruntime while timing is a note; the compressed model is written, exit 0', async () => {
    const out = join(dir, 'stft.onnx');
    const r = await cli('compress', stft, '-o', out, '--passes', 'cleanup', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).notes).toContain('latency not measured: onnxruntime crashed (SIGFPE) on random inputs');
    expect(existsSync(out)).toBe(true);
  });
});
