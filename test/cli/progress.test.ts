import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noColor, pipelineProgress, renderBar, stepOf } from '../../src/cli/progress.ts';
import { cli } from '../helpers/cli.ts';

describe('cli progress', () => {
  it('progress: the bar shows percentage, count, rate and ETA', () => {
    expect(renderBar('quantize', 0.5, 2000, 'batch 4/8')).toBe('quantize ████████████░░░░░░░░░░░░ 50% 4/8 · 2.0/s · ETA 2s (batch 4/8)');
    expect(renderBar('prune', 0.25, 10_000, 'layer fc1')).toBe('prune ██████░░░░░░░░░░░░░░░░░░ 25% · ETA 30s (layer fc1)');
    expect(renderBar('prune', 0, 500)).toMatch(/ETA \?$/);
    expect(renderBar('gptq', 0.01, 100_000)).toMatch(/ETA 165m00s$/);
  });

  it("progress: a step's own rate and time left, from how long that step (the label before its count) has run", () => {
    // 30 s into the pass, 20 s into placement: 4 of 12 layers tried → 0.2/s, 8 left → 40 s.
    expect(renderBar('quantize', 0.3, 30_000, 'placement 4/12 layers tried, now conv5', 20_000)).toBe(
      'quantize ███████░░░░░░░░░░░░░░░░░ 30% · ETA 1m10s (placement 4/12 layers tried, now conv5 · 0.2/s · 40s left)',
    );
    expect(renderBar('quantize', 0.3, 30_000, 'placement 0/12 layers tried, now conv1', 0)).toMatch(/· \? left\)$/);
    expect(stepOf('placement 4/12 layers tried, now conv5')).toBe('placement ');
    expect(stepOf('calibration')).toBeUndefined();
  });

  it('progress: NO_COLOR counts when present and not empty', () => {
    expect([noColor({ NO_COLOR: '1' }), noColor({ NO_COLOR: '' }), noColor({})]).toEqual([true, false, false]);
  });

  it('progress: not a terminal → one plain line per pass on stderr; --json and --quiet → nothing', async () => {
    const lines: string[] = [];
    const events = pipelineProgress({ stdout: { write: () => true }, stderr: { write: (s: string) => lines.push(s), isTTY: false } }, false);
    events.onPassStart?.('cleanup', 0, 1);
    events.onProgress?.('cleanup', 0.5);
    events.onPassEnd?.({ pass: 'cleanup', seconds: 0.01, bytes: 2000, changes: { deadRemoved: 2 } });
    expect(lines).toEqual(['cleanup: deadRemoved 2 — 2.00 KB in 0.01 s\n']);
    expect(pipelineProgress({ stdout: { write: () => true }, stderr: { write: () => { throw new Error('printed'); } } }, true)).toEqual({});

    const dir = mkdtempSync(join(tmpdir(), 'shrinkray-progress-'));
    const quiet = await cli('compress', 'fixtures/mlp.onnx', '-o', join(dir, 'a.onnx'), '--no-latency', '--compressed-sizes', 'never', '--json');
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.err).toBe('');
    JSON.parse(quiet.out);
    const plain = await cli('compress', 'fixtures/mlp.onnx', '-o', join(dir, 'b.onnx'), '--no-latency', '--compressed-sizes', 'never');
    expect(plain.err).toMatch(/^cleanup: matmulAddsFused 1 — 1\.07 MB in \d+\.\d\d s\n$/);
    expect(plain.out).toMatch(/^## shrinkray report/);
  });
});
