/**
 * Outputs appear only when everything passed (issue 14): a failed check or budget leaves its
 * report but no model; `stageModel` keeps files out of place until `commit`; a run stopped by
 * SIGINT/SIGTERM in the middle of a save leaves nothing in the output folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { Model } from '../../src/ir/model.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { loadModel } from '../../src/io/load.ts';
import { pendingOutputs } from '../../src/io/pending.ts';
import { saveModel, stageModel } from '../../src/io/save.ts';
import { cli } from '../helpers/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'shrinkray-outputs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function freshDir(): string {
  const d = join(root, `case-${n++}`);
  mkdirSync(d);
  return d;
}

const LENET = join(import.meta.dirname, '../../fixtures/lenet5.onnx');

/** y = x + w with a `floats`-element weight held in a sparse file of zeros (cheap to make). */
async function modelWithWeight(dir: string, floats: number): Promise<string> {
  const raw = join(dir, 'weights.raw');
  const fd = openSync(raw, 'w');
  ftruncateSync(fd, floats * 4);
  closeSync(fd);
  const b = new GraphBuilder('big');
  const x = b.input('x', 'float32', [floats]);
  b.graph.addInitializer(new Tensor('w', 'float32', [floats], { kind: 'raw', chunk: { path: raw, offset: 0, length: floats * 4 } }));
  const [y] = b.node('Add', [x, 'w'], {}, { name: 'add' });
  b.output(y!, 'float32', [floats]);
  const path = join(dir, 'big.onnx');
  await saveModel(new Model(b.graph, new Map([['', 17]]), 8), path);
  rmSync(raw);
  return path;
}

describe('outputs: only when everything passed', () => {
  it('outputs: a broken budget exits 1, writes the report and leaves no model', async () => {
    const out = freshDir();
    const report = join(out, 'report.json');
    const r = await cli('compress', LENET, '-o', join(out, 'lenet.onnx'), '--passes', 'cleanup', '--no-latency', '--max-size', '1', '--report', report, '--quiet');
    expect(r.code, r.err).toBe(1);
    expect(readdirSync(out)).toEqual(['report.json']);
    expect(JSON.parse(readFileSync(report, 'utf8')).budgets[0].pass).toBe(false);
  });

  it('outputs: stageModel keeps model and data out of place until commit, loadable where staged', async () => {
    const out = freshDir();
    const target = join(out, 'lenet.onnx');
    const staged = await stageModel(await loadModel(LENET), target, { externalData: true });
    expect(readdirSync(out)).toHaveLength(1);
    expect(readdirSync(out)[0]).toMatch(/^\.lenet\.onnx\..*\.staging$/);
    expect(pendingOutputs()).toContain(dirname(staged.stagedPath));
    const reloaded = await loadModel(staged.stagedPath);
    expect(reloaded.graph.initializers.size).toBeGreaterThan(0);
    expect(staged.commit()).toEqual(staged.result);
    expect(readdirSync(out).sort()).toEqual(['lenet.onnx', 'lenet.onnx.data']);
    expect(pendingOutputs()).toEqual([]);
    expect((await loadModel(target)).graph.initializers.size).toBe(reloaded.graph.initializers.size);
  });

  it('outputs: an aborted stage leaves nothing, and a later commit cannot revive it', async () => {
    const out = freshDir();
    const staged = await stageModel(await loadModel(LENET), join(out, 'lenet.onnx'), { externalData: true });
    staged.abort();
    staged.abort();
    expect(readdirSync(out)).toEqual([]);
    expect(() => staged.commit()).toThrow();
    expect(readdirSync(out)).toEqual([]);
  });

  it('outputs: leftovers of a run that died (native crash, SIGKILL) are swept by the next save, those of a live run are not', async () => {
    const out = freshDir();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const deadStaging = join(out, `.lenet.onnx.${dead}.0badf00d.staging`);
    mkdirSync(deadStaging);
    writeFileSync(join(deadStaging, 'lenet.onnx'), 'half');
    const liveTemp = join(out, `.lenet.onnx.${process.pid}.cafebabe.tmp`);
    writeFileSync(liveTemp, 'in progress');
    await saveModel(await loadModel(LENET), join(out, 'lenet.onnx'));
    expect(readdirSync(out).sort()).toEqual([`.lenet.onnx.${process.pid}.cafebabe.tmp`, 'lenet.onnx']);
  });

  // SIGTERM (exit 143) takes the same path in bin/shrinkray.js; one spawn keeps the suite fast.
  for (const [signal, code] of [['SIGINT', 130]] as const) {
    it(`outputs: ${signal} during the save of a 64 MB model exits ${code} and leaves the output folder empty`, async () => {
      const src = freshDir();
      const input = await modelWithWeight(src, 16 * 1024 * 1024);
      const out = freshDir();
      const child = spawn(process.execPath, ['bin/shrinkray.js', 'compress', input, '-o', join(out, 'big.onnx'), '--passes', 'cleanup', '--no-latency', '--no-verify', '--compressed-sizes', 'never', '--quiet'], { stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      // Signal once the staged model has 8 MB of its 64 on disk: in the middle of writing.
      let sent = false;
      while (!sent && child.exitCode === null) {
        const staging = readdirSync(out).find((f) => f.endsWith('.staging'));
        let written = 0;
        try {
          written = staging ? Math.max(0, ...readdirSync(join(out, staging)).map((f) => statSync(join(out, staging, f)).size)) : 0;
        } catch {
          // renamed or removed between listing and stat
        }
        if (written > 8 * 2 ** 20) {
          child.kill(signal);
          sent = true;
        } else await new Promise((r) => setTimeout(r, 1));
      }
      expect(sent, 'the run ended before its staging folder was seen').toBe(true);
      expect(await exited).toBe(code);
      expect(readdirSync(out)).toEqual([]);
      expect(existsSync(input)).toBe(true);
    });
  }
});
