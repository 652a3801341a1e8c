import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRecipe } from '../../src/recipe/recipe.ts';
import { cli } from '../helpers/cli.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shrinkray-run-'));
});

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const root = resolve('.');

describe('cli run and init', () => {
  it('run: a recipe equal to the README command writes the same bytes, and records recipe, data hashes and seeds', async () => {
    const viaCli = join(dir, 'cli.onnx');
    const quick = ['--no-latency', '--compressed-sizes', 'never', '--limit', '200', '--quiet'];
    const c = await cli('compress', 'fixtures/lenet5.onnx', '-o', viaCli, '--passes', 'cleanup,quantize', '--set', 'quantize.calib=fixtures/data/mnist-calib.npz', '--set', 'quantize.target=size', '--data', 'fixtures/data/mnist-test.npz', ...quick);
    expect(c.code, c.err).toBe(0);
    // In the temp folder, so its relative paths go back to the repository.
    const recipe = join(dir, 'job.yaml');
    writeFileSync(recipe, [
      `input: ${join(root, 'fixtures/lenet5.onnx')}`,
      'output: out/recipe.onnx',
      `data: { calib: ${join(root, 'fixtures/data/mnist-calib.npz')}, eval: ${join(root, 'fixtures/data/mnist-test.npz')}, limit: 200 }`,
      'passes: [cleanup, { quantize: { target: size } }]',
      'measure: { latency: false, compressedSizes: never }',
      'report: [out/report.json, out/report.html]',
      '',
    ].join('\n'));
    const r = await cli('run', recipe, '--quiet');
    expect(r.code, r.err).toBe(0);
    const out = join(dir, 'out/recipe.onnx');
    expect(sha(out)).toBe(sha(viaCli));
    const report = JSON.parse(readFileSync(join(dir, 'out/report.json'), 'utf8'));
    expect(report.provenance.recipe.path).toBe(recipe);
    expect(report.provenance.recipe.content.passes).toEqual(['cleanup', { quantize: { target: 'size' } }]);
    expect(report.provenance.datasets.map((d: { role: string; sha256: string }) => [d.role, d.sha256])).toEqual([
      ['calib', sha('fixtures/data/mnist-calib.npz')],
      ['eval', sha('fixtures/data/mnist-test.npz')],
    ]);
    expect(report.provenance.seeds).toEqual({ latency: 1 });
    expect(report.environment.onnxruntime).toMatch(/^\d+\.\d+\.\d+$/);
    expect(readFileSync(join(dir, 'out/report.html'), 'utf8')).toContain('<section id="environment">');
  });

  it('run: a bad recipe exits 2 with file:line', async () => {
    const recipe = join(dir, 'bad.yaml');
    writeFileSync(recipe, 'input: m.onnx\noutput: o.onnx\npasses:\n  - quantise\n');
    const r = await cli('run', recipe);
    expect([r.code, r.err]).toEqual([2, `shrinkray: ${recipe}:4: passes[0]: unknown pass 'quantise' (available: cleanup, opset, distill, prune, quantize, quantize-int4, export-tflite)\n`]);
  });

  it('init: writes a commented recipe from the model that runs as written', async () => {
    const recipe = join(dir, 'init/mlp.yaml');
    const i = await cli('init', 'fixtures/mlp.onnx', '-o', recipe);
    expect(i.code, i.err).toBe(0);
    expect(i.out).toContain('no data set: static int8 cannot be calibrated, so dynamic int8');
    const text = readFileSync(recipe, 'utf8');
    expect(text).toMatch(/^# shrinkray recipe, written by `shrinkray init`/);
    expect(parseRecipe(text, recipe).steps.map((s) => [s.pass.name, s.options])).toEqual([['cleanup', {}], ['quantize', { mode: 'dynamic' }]]);
    expect((await cli('init', 'fixtures/mlp.onnx', '-o', recipe)).code).toBe(2); // exists: needs --force
    const r = await cli('run', recipe, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.stages.map((s: { name: string }) => s.name)).toEqual(['input', 'cleanup', 'quantize', 'output']);
    expect(report.stages.at(-1).deltas.sizeRatio).toBeLessThan(0.3);
    expect(readFileSync(join(dir, 'init/mlp.report.html'), 'utf8')).toContain('<!DOCTYPE html>');
  });

  it('init: with labelled data the recipe measures accuracy and gates it', async () => {
    const recipe = join(dir, 'init/lenet.yaml');
    expect((await cli('init', 'fixtures/lenet5.onnx', '--data', 'fixtures/data/mnist-test.npz', '-o', recipe, '--max-accuracy-drop', '0.5')).code).toBe(0);
    const parsed = parseRecipe(readFileSync(recipe, 'utf8'), recipe);
    expect(parsed.steps[1]!.options).toMatchObject({ mode: 'static', maxAccuracyDrop: 0.5, calib: parsed.data.eval, evalData: parsed.data.eval });
    expect(parsed.budgets).toEqual({ maxAccuracyDrop: 0.5 });
  });
});
