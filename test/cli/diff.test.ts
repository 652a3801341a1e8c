import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReport, reportToJson } from '../../src/report/report.ts';
import { cli } from '../helpers/cli.ts';
import { base, input, output } from '../report/sample.ts';

let dir: string;
let basePath: string;
let headPath: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shrinkray-diff-'));
  basePath = join(dir, 'base.json');
  headPath = join(dir, 'head.json');
  writeFileSync(basePath, reportToJson(buildReport({ ...base, stages: [input, output] })));
  // Head: smaller (200 KB), 0.5 points less accurate, faster at batch 1 (1 → 0.8 ms), slower at batch 32 (8 → 10 ms).
  const head = { ...output, sizes: { sizeBytes: 200_000 }, accuracy: { top1: 0.967, samples: 1000 }, latency: { batch1: { p50: 0.8, p90: 1 }, batchN: { n: 32, p50: 10, p90: 11 } } };
  writeFileSync(headPath, reportToJson(buildReport({ ...base, stages: [input, head] })));
});

const rows = (md: string) => md.split('\n').filter((l) => l.startsWith('| ')).map((l) => l.slice(2, -2).split(' | '));

describe('cli diff', () => {
  it('diff: one row per stage with base → head and the change', async () => {
    const r = await cli('diff', basePath, headPath);
    expect(r.code, r.err).toBe(0);
    expect(rows(r.out)).toEqual([
      ['Stage', 'Size', 'Δ size', 'Top-1', 'Δ top-1 (pts)', 'p50 b1', 'Speed-up b1', 'p50 b32', 'Speed-up b32'],
      ['input', '1.00 MB', '±0.0%', '98.00%', '±0.00', '2.000 ms', '1.00×', '20.0 ms', '1.00×'],
      ['output', '250 KB → 200 KB', '−20.0%', '97.20% → 96.70%', '−0.50', '1.000 ms → 0.800 ms', '1.25×', '8.000 ms → 10.0 ms', '0.80× (slower)'],
    ]);
    expect(r.out).not.toContain('### Budgets');
  });

  it('diff: budgets apply head against base; a broken one exits 1 and the table is still printed', async () => {
    const ok = await cli('diff', basePath, headPath, '--max-accuracy-drop', '0.5', '--max-size', '+0%', '--min-speedup', 'b1:1.2');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain('✅ all 3 budgets passed');
    const bad = await cli('diff', basePath, headPath, '--min-speedup', '1', '--max-size', '150KB', '--report', join(dir, 'diff.md'));
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^- ❌ \*\*minSpeedupBatchN\*\*: out\/net\\_small\.onnx is 1\.25× slower than the base run at batch 32/m);
    expect(bad.out).toMatch(/^- ✅ \*\*minSpeedup\*\*/m);
    expect(bad.out).toMatch(/^- ❌ \*\*maxSize\*\*: .*over the 150 KB budget/m);
    expect(bad.err).toMatch(/^shrinkray: budget maxSize failed/);
    expect(readFileSync(join(dir, 'diff.md'), 'utf8')).toBe(bad.out);
  });

  it('diff: --json gives the changes; bad files exit 2 naming them', async () => {
    const r = await cli('diff', basePath, headPath, '--json');
    const j = JSON.parse(r.out);
    expect(j.stages[1]).toMatchObject({ name: 'output', speedup: 1.25, speedupBatchN: 0.8 });
    expect(j.stages[1].sizeChange).toBeCloseTo(-0.2, 9);
    expect(j.stages[1].accuracyPoints).toBeCloseTo(-0.5, 9);
    writeFileSync(join(dir, 'bad.json'), '{"schemaVersion": 7}');
    const bad = await cli('diff', join(dir, 'bad.json'), headPath);
    expect([bad.code, bad.err]).toEqual([2, `shrinkray: ${join(dir, 'bad.json')} has schemaVersion 7; this shrinkray reads version 1\n`]);
    expect((await cli('diff', join(dir, 'missing.json'), headPath)).code).toBe(2);
  });
});
