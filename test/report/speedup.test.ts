import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { evaluateBudgets, parseSpeedupBudget } from '../../src/report/budgets.ts';
import { renderMarkdown, speedup } from '../../src/report/markdown.ts';
import { buildReport } from '../../src/report/report.ts';
import { budgetsFromArgs, type ReportArgs } from '../../src/cli/report-options.ts';
import { base, input, output } from './sample.ts';

// Faster at batch 1 (2 → 1 ms) but slower at batch 32 (20 → 25 ms): what a single column hid.
const mixed = { ...output, latency: { batch1: { p50: 1, p90: 1.2 }, batchN: { n: 32, p50: 25, p90: 27 } } };

describe('report/speed-up', () => {
  const report = buildReport({ ...base, stages: [input, mixed] });

  it('speed-up: batch 1 and batch N are both recorded and shown, a slower one marked', () => {
    expect(report.stages[1]!.deltas).toMatchObject({ speedup: 2, speedupBatchN: 0.8 });
    const md = renderMarkdown(report);
    expect(md).toContain('| Speed-up b1 | Speed-up b32 |');
    expect(md).toContain('| 2.00× | 0.80× (slower) |');
    expect(speedup(1)).toBe('1.00×');
    expect(speedup(0.999)).toBe('1.00×');
    expect(speedup(0.994)).toBe('0.99× (slower)');
    expect(speedup(undefined)).toBeUndefined();
  });

  it('speed-up: the Markdown names the machine the timings come from', () => {
    const environment = { node: '20.0.0', onnxruntime: '1.30.0', platform: 'linux 6', arch: 'x64', cpu: 'Test CPU', cores: 2, threads: 1 };
    expect(renderMarkdown(buildReport({ ...base, stages: [input, mixed], environment }))).toMatch(/\n<sub>Measured with Node 20\.0\.0, onnxruntime 1\.30\.0, 1 intra-op thread on Test CPU \(2 cores, linux 6 x64\)\.<\/sub>\n$/);
  });

  it('speed-up: --min-speedup 1.5 gates both batches, b1:/b32: one each', () => {
    expect(parseSpeedupBudget(['1.5'])).toEqual({ minSpeedup: 1.5, minSpeedupBatchN: 1.5 });
    expect(parseSpeedupBudget(['b1:1.2'])).toEqual({ minSpeedup: 1.2 });
    expect(parseSpeedupBudget(['b32:0.5', 'b1:2'])).toEqual({ minSpeedupBatchN: 0.5, batchN: 32, minSpeedup: 2 });
    expect(parseSpeedupBudget(['b1:1,b32:1.1'])).toEqual({ minSpeedup: 1, minSpeedupBatchN: 1.1, batchN: 32 });
    expect(() => parseSpeedupBudget(['fast'])).toThrow(InputError);
    const both = evaluateBudgets(report, parseSpeedupBudget(['1.5']));
    expect(both.map((b) => [b.budget, b.batch, b.pass])).toEqual([['minSpeedup', 1, true], ['minSpeedupBatchN', 32, false]]);
    expect(both[1]!.reason).toBe('out/net_small.onnx is 1.25× slower than its input at batch 32 (p50 20.000 ms → 25.000 ms), short of the 1.5× budget');
    expect(evaluateBudgets(report, { minSpeedup: 1.5 }).every((b) => b.pass)).toBe(true);
  });

  it('speed-up: the CLI refuses a batch size latency is not measured at', () => {
    const args = (v: string[]) => ({ minSpeedup: v }) as ReportArgs;
    expect(budgetsFromArgs(args(['b32:1.1']))).toEqual({ minSpeedupBatchN: 1.1 });
    expect(() => budgetsFromArgs(args(['b8:1.1']))).toThrow(/measured at batch 1 and 32/);
  });
});
