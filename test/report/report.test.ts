import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { buildReport, parseReport, reportToJson, writeFileAtomic, writeReport } from '../../src/report/report.ts';
import { base, input, output, prune } from './sample.ts';

describe('report/report', () => {
  const report = buildReport({ ...base, stages: [input, prune, output], budgets: { maxSize: 300_000 }, notes: ['calibrated on 64 samples'] });

  it('report: header fields and one stage per measurement, in order', () => {
    expect(report).toMatchObject({
      schemaVersion: 1,
      tool: { name: 'shrinkray', version: '0.1.0' },
      createdAt: '2026-01-02T03:04:05.000Z',
      input: 'models/net.onnx',
      output: 'out/net_small.onnx',
      notes: ['calibrated on 64 samples'],
    });
    expect(report.stages.map((s) => s.name)).toEqual(['input', 'prune', 'output']);
    expect(report.budgets).toHaveLength(1);
    expect(report.budgets[0]!.pass).toBe(true);
  });

  it('report: deltas are against the input stage', () => {
    const [i, p, o] = report.stages;
    expect(i!.deltas).toEqual({ sizeRatio: 1, accuracyPoints: 0, speedup: 1, speedupBatchN: 1 });
    expect(p!.deltas).toEqual({ sizeRatio: 1 }); // prune measured neither accuracy nor latency
    expect(o!.deltas.sizeRatio).toBe(0.25);
    expect(o!.deltas.accuracyPoints).toBeCloseTo(-0.8, 9);
    expect(o!.deltas.speedup).toBe(2);
    expect(o!.deltas.speedupBatchN).toBe(2.5); // 20 ms → 8 ms at batch 32
  });

  it('report: latency keeps threads, p10/p50/p90 and runs, and SQNR is JSON-safe', () => {
    expect(report.stages[2]!.latency).toEqual({ threads: 1, batch1: { p10: 0.9, p50: 1, p90: 1.2, runs: 250 }, batchN: { n: 32, p10: 7.5, p50: 8, p90: 9, runs: 30 } });
    expect(report.stages[0]!.agreement!.sqnrDb).toBe(999);
    expect(report.stages[2]!.agreement!.sqnrDb).toBe(31.5);
    expect(report.stages[1]).not.toHaveProperty('accuracy');
    expect(report.stages[1]!.seconds).toBe(1.25);
  });

  it('report: JSON round trip is lossless', () => {
    const text = reportToJson(report);
    expect(text.endsWith('}\n')).toBe(true);
    expect(parseReport(text)).toEqual(report);
  });

  it('report: parseReport refuses other versions and non-reports', () => {
    const v2 = JSON.stringify({ ...report, schemaVersion: 2 });
    expect(() => parseReport(v2, 'old.json')).toThrow('old.json has schemaVersion 2; this shrinkray reads version 1');
    expect(() => parseReport('{"a":1}', 'x.json')).toThrow('x.json is not a shrinkray report (no schemaVersion)');
    expect(() => parseReport('{', 'bad.json')).toThrow(InputError);
    expect(() => parseReport(JSON.stringify({ schemaVersion: 1 }), 'r.json')).toThrow('r.json lacks stages, budgets or notes');
  });

  it('report: writeFileAtomic replaces the file and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shrinkray-report-'));
    const path = join(dir, 'report.json');
    await writeFile(path, 'old');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['report.json']);
  });

  it('report: writeFileAtomic into a missing directory is an InputError naming the path', async () => {
    await expect(writeFileAtomic('/nonexistent/dir/report.json', 'x')).rejects.toThrow('cannot write /nonexistent/dir/report.json: ENOENT');
  });

  it('report: writeReport writes both forms', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shrinkray-report-'));
    await writeReport(report, { json: join(dir, 'r.json'), markdown: join(dir, 'r.md') });
    expect(parseReport(await readFile(join(dir, 'r.json'), 'utf8'))).toEqual(report);
    expect(await readFile(join(dir, 'r.md'), 'utf8')).toContain('## shrinkray report');
    expect((await readdir(dir)).sort()).toEqual(['r.json', 'r.md']);
  });

  it('report: the example in docs/report.md is a valid version 1 report', async () => {
    const doc = await readFile(new URL('../../docs/report.md', import.meta.url), 'utf8');
    const example = /```json\n([\s\S]*?)```/.exec(doc);
    expect(example).not.toBeNull();
    const parsed = parseReport(example![1]!, 'docs/report.md');
    expect(parsed.stages[0]!.name).toBe('input');
    expect(parsed.stages.at(-1)!.name).toBe('output');
  });
});
