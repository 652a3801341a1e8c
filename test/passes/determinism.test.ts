/**
 * Determinism and isolation (issue 14): the same input, options and seed give byte-identical
 * models for every pass, and identical reports apart from timings; two pipelines running at
 * once in one process (Promise.all) give exactly what they give one after the other.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { getPass } from '../../passes/index.ts';
import { cli } from '../helpers/cli.ts';

const ROOT = join(import.meta.dirname, '../..');
const LENET = join(ROOT, 'fixtures/lenet5.onnx');
const CALIB = join(ROOT, 'fixtures/data/mnist-calib.npz');
const dir = mkdtempSync(join(tmpdir(), 'shrinkray-determinism-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PIPELINES: Record<string, Array<{ pass: string; options?: Record<string, unknown> }>> = {
  cleanup: [{ pass: 'cleanup' }],
  'quantize static': [{ pass: 'quantize', options: { calib: CALIB, calibSamples: 32, calibBatch: 16, target: 'size' } }],
  'quantize dynamic': [{ pass: 'quantize', options: { mode: 'dynamic' } }],
  'quantize-int4': [{ pass: 'quantize-int4', options: { blockSize: 32 } }],
  prune: [{ pass: 'prune', options: { sparsity: 0.5, channels: 0.25, verify: false } }],
};

async function compress(name: string): Promise<Uint8Array> {
  const model = await loadModel(LENET);
  await runPipeline(model, PIPELINES[name]!.map((s) => ({ pass: getPass(s.pass), options: s.options })));
  return modelToBytes(model);
}

/** Bytes per pipeline from two sequential runs, kept for the concurrency test below. */
const sequential = new Map<string, Uint8Array>();

describe('determinism', () => {
  for (const name of Object.keys(PIPELINES)) {
    it(`determinism: ${name} twice on lenet5 gives byte-identical models`, async () => {
      const [a, b] = [await compress(name), await compress(name)];
      expect(Buffer.compare(a, b), `${name}: the two runs differ`).toBe(0);
      expect(Buffer.compare(a, new Uint8Array(readFileSync(LENET))), `${name} changed nothing`).not.toBe(0);
      sequential.set(name, a);
    });
  }

  // target size: speed and balanced place layers by timing them, which a loaded machine can tip either way.
  it('determinism: two compress runs write the same model and the same report, timings (seconds, createdAt) aside', async () => {
    const run = async (k: number) => {
      const out = join(dir, `run${k}.onnx`);
      const report = join(dir, `run${k}.json`);
      const r = await cli('compress', LENET, '-o', out, '--passes', 'cleanup,quantize', '--set', `quantize.calib=${CALIB}`, '--set', 'quantize.calibSamples=32', '--set', 'quantize.target=size', '--no-latency', '--report', report, '--quiet');
      expect(r.code, r.err).toBe(0);
      return { model: readFileSync(out), report: JSON.parse(readFileSync(report, 'utf8'), (k, v) => (k === 'seconds' || k === 'createdAt' ? 0 : v)) as unknown };
    };
    const [a, b] = [await run(1), await run(2)];
    expect(Buffer.compare(a.model, b.model)).toBe(0);
    expect(JSON.stringify(b.report).replaceAll('run2', 'run1')).toBe(JSON.stringify(a.report));
  });
});

describe('concurrency', () => {
  it('concurrency: quantize static and dynamic side by side (Promise.all) match their sequential results', async () => {
    const names = ['quantize static', 'quantize dynamic', 'quantize static'];
    for (const n of names) if (!sequential.has(n)) sequential.set(n, await compress(n));
    const together = await Promise.all(names.map(compress));
    together.forEach((bytes, i) => expect(Buffer.compare(bytes, sequential.get(names[i]!)!), `${names[i]} run ${i} differs when run concurrently`).toBe(0));
  });
});
