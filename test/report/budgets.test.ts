import { describe, expect, it } from 'vitest';
import { CheckError, InputError } from '../../src/errors.ts';
import { enforceBudgets, evaluateBudgets } from '../../src/report/budgets.ts';
import { buildReport } from '../../src/report/report.ts';
import { base, input, output } from './sample.ts';

const report = buildReport({ ...base, stages: [input, output] });

describe('report/budgets', () => {
  it('budgets: each budget passes or fails against input and output', () => {
    // accuracy 98.0% → 97.2%: a drop of 0.8 points; 250 000 B; 2 ms → 1 ms: 2× faster.
    const ok = evaluateBudgets(report, { maxAccuracyDrop: 1, maxSize: 300_000, minSpeedup: 1.5 });
    expect(ok.map((r) => [r.budget, r.pass])).toEqual([['maxAccuracyDrop', true], ['maxSize', true], ['minSpeedup', true]]);
    expect(ok[0]!.actual).toBeCloseTo(0.8, 9);
    expect(ok[1]!.actual).toBe(250_000);
    expect(ok[2]!.actual).toBe(2);

    const bad = evaluateBudgets(report, { maxAccuracyDrop: 0.5, maxSize: 200_000, minSpeedup: 3 });
    expect(bad.map((r) => r.pass)).toEqual([false, false, false]);
    expect(bad[0]!.reason).toBe('out/net_small.onnx: accuracy drop 0.80 points exceeds the 0.5-point budget (98.00% → 97.20%)');
    expect(bad[1]!.reason).toBe('out/net_small.onnx is 250 KB (250000 B), over the 200 KB budget');
    expect(bad[2]!.reason).toBe('out/net_small.onnx is 2.00× as fast as its input at batch 1 (p50 2.000 ms → 1.000 ms), short of the 3× budget');
    for (const r of [...ok, ...bad]) expect(r.reason).not.toContain('\n');
  });

  it('budgets: a limit met exactly passes', () => {
    const r = evaluateBudgets(report, { maxAccuracyDrop: 0.8, maxSize: 250_000, minSpeedup: 2 });
    expect(r.every((x) => x.pass)).toBe(true);
    expect(evaluateBudgets(report, { maxSize: 249_999 })[0]!.pass).toBe(false);
  });

  it('budgets: only the budgets given are evaluated', () => {
    expect(evaluateBudgets(report, {})).toEqual([]);
    expect(evaluateBudgets(report, { maxSize: 1e6 }).map((r) => r.budget)).toEqual(['maxSize']);
  });

  it('budgets: an unmeasured budget fails with actual null', () => {
    const bare = buildReport({ ...base, stages: [{ ...input, accuracy: undefined, latency: undefined }, { ...output, accuracy: undefined, latency: undefined }] });
    const r = evaluateBudgets(bare, { maxAccuracyDrop: 1, minSpeedup: 1 });
    expect(r.map((x) => [x.pass, x.actual])).toEqual([[false, null], [false, null]]);
    expect(r[0]!.reason).toContain('no accuracy measured for out/net_small.onnx');
  });

  it('budgets: enforce throws CheckError for a miss, InputError for the unmeasured, nothing if all pass', () => {
    expect(() => enforceBudgets(evaluateBudgets(report, { maxSize: 1e6 }))).not.toThrow();
    const miss = evaluateBudgets(report, { maxAccuracyDrop: 5, maxSize: 1000, minSpeedup: 9 });
    let err: unknown;
    try {
      enforceBudgets(miss);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckError);
    expect((err as CheckError).exitCode).toBe(1);
    expect((err as Error).message).toBe('budget maxSize failed: out/net_small.onnx is 250 KB (250000 B), over the 1.00 KB budget');
    const bare = buildReport({ ...base, stages: [input, { ...output, latency: undefined }] });
    expect(() => enforceBudgets(evaluateBudgets(bare, { minSpeedup: 1 }))).toThrow(InputError);
  });

  it('budgets: a negative or non-numeric limit is an InputError', () => {
    expect(() => evaluateBudgets(report, { maxSize: -1 })).toThrow('budget maxSize must be a non-negative number, got -1');
    expect(() => evaluateBudgets(report, { minSpeedup: NaN })).toThrow(InputError);
  });
});
