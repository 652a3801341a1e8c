import { describe, expect, it } from 'vitest';
import { evaluateBudgets } from '../../src/report/budgets.ts';
import { buildReport } from '../../src/report/report.ts';
import { base, input, output } from './sample.ts';

describe('report/agreement budget', () => {
  it('budgets: minAgreement gates top-1 agreement with the input (unlabelled data)', () => {
    const report = buildReport({ ...base, stages: [input, output] }); // output agrees on 98.5 %
    const [ok] = evaluateBudgets(report, { minAgreement: 0.985 });
    expect(ok).toMatchObject({ budget: 'minAgreement', actual: 0.985, pass: true });
    const [miss] = evaluateBudgets(report, { minAgreement: 0.99 });
    expect(miss!.reason).toBe('out/net_small.onnx agrees with its input on the top-1 class of 98.50% of 1000 samples, under the 99.00% budget');
    const bare = buildReport({ ...base, stages: [input, { ...output, agreement: undefined }] });
    expect(evaluateBudgets(bare, { minAgreement: 0.9 })[0]).toMatchObject({ actual: null, pass: false });
  });
});
