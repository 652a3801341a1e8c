import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli } from '../helpers/cli.ts';

const text = readFileSync('docs/ci.md', 'utf8');
const workflow = parse(/```yaml\n(name: model[\s\S]*?)```/.exec(text)![1]!) as { jobs: { compress: { steps: { name?: string; uses?: string; run?: string; with?: Record<string, string> }[] } } };
const steps = workflow.jobs.compress.steps;
/** argv of the `npx shrinkray …` line of a step (backslash continuations joined). */
const argv = (name: string) => {
  const run = steps.find((s) => s.name === name)!.run!.replace(/\\\n\s*/g, ' ');
  return /npx shrinkray ([^\n|]*)/.exec(run)![1]!.trim().split(/\s+/);
};

describe('docs/ci.md', () => {
  it('ci: the workflow caches the base report, uploads the HTML report and comments', () => {
    expect(steps.map((s) => s.uses).filter(Boolean)).toEqual(['actions/checkout@v4', 'actions/setup-node@v4', 'actions/cache@v4', 'actions/upload-artifact@v4']);
    expect(steps.find((s) => s.uses === 'actions/upload-artifact@v4')!.with!.path).toContain('out/report.html');
    expect(steps.some((s) => s.run?.includes('gh pr comment'))).toBe(true);
  });

  it("ci: the workflow's shrinkray commands run: run the recipe, then diff with the budgets", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shrinkray-ci-'));
    symlinkSync(resolve('fixtures'), join(dir, 'fixtures'));
    mkdirSync(join(dir, 'base-report'));
    // The recipe the workflow expects: the report paths it reads.
    writeFileSync(join(dir, 'shrinkray.yaml'), [
      'input: fixtures/lenet5.onnx',
      'output: out/lenet5.int8.onnx',
      'data: { calib: fixtures/data/mnist-calib.npz, eval: fixtures/data/mnist-test.npz, limit: 300 }',
      'passes: [cleanup, quantize]',
      'report: [out/report.json, out/report.md, out/report.html]',
      '',
    ].join('\n'));
    const at = (args: string[]) => args.map((a) => (/^(shrinkray\.yaml|out\/|base-report\/|diff\.md)/.test(a) ? join(dir, a) : a));
    const head = await cli(...at(argv("Compress this branch's model")));
    expect(head.code, head.err).toBe(0);
    // Base = head here: the same model, so every budget of the diff holds.
    writeFileSync(join(dir, 'base-report/report.json'), readFileSync(join(dir, 'out/report.json')));
    const diff = await cli(...at(argv('Compare with the base branch')));
    expect(diff.code, diff.err).toBe(0);
    expect(readFileSync(join(dir, 'diff.md'), 'utf8')).toMatch(/^## shrinkray diff\n\nbase `.*` → head `.*` · ✅ all 3 budgets passed\n/);
  });
});
