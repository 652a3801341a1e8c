import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { parseRecipe } from '../../src/recipe/recipe.ts';

/** The message of the InputError `text` raises. */
function error(text: string, file = 'job.yaml'): string {
  try {
    parseRecipe(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('no error');
}

const head = 'input: m.onnx\noutput: out/m.int8.onnx\n';

describe('recipe', () => {
  it('recipe: passes as names or with options; data feeds quantize; paths are relative to the recipe', () => {
    const r = parseRecipe(`${head}data:\n  calib: c.npz\n  eval: e.npz\npasses:\n  - cleanup\n  - quantize:\n      mode: static\n      maxAccuracyDrop: 0.5\n  - { pass: prune, options: { sparsity: 0.5 } }\nbudgets: { maxSize: 300KB, minSpeedup: b1:1.1 }\nreport: [r.json, r.html]\n`, 'jobs/job.yaml');
    expect(r.input).toBe('jobs/m.onnx');
    expect(r.steps.map((s) => [s.pass.name, s.options])).toEqual([
      ['cleanup', {}],
      ['quantize', { mode: 'static', maxAccuracyDrop: 0.5, calib: 'jobs/c.npz', evalData: 'jobs/e.npz' }],
      // prune's calib (bias compensation) changes its result: never filled in from data.
      ['prune', { sparsity: 0.5 }],
    ]);
    expect(r.budgets).toEqual({ maxSize: '300KB', minSpeedup: ['b1:1.1'] });
    expect(r.reports).toEqual(['jobs/r.json', 'jobs/r.html']);
    // latency left unset: measured by size, as on the command line (src/cli/large-model.ts).
    expect(r.measure).toEqual({ batchSize: 64, compressedSizes: 'auto' });
  });

  it('recipe: JSON is accepted (a subset of YAML) with the same line numbers', () => {
    const r = parseRecipe('{\n  "input": "m.onnx",\n  "output": "o.onnx",\n  "passes": ["cleanup"]\n}\n', 'job.json');
    expect(r.steps[0]!.pass.name).toBe('cleanup');
    expect(error('{\n  "input": "m.onnx",\n  "output": "o.onnx",\n  "passes": ["cleanup", "squash"]\n}\n', 'job.json')).toBe("job.json:4: passes[1]: unknown pass 'squash' (available: cleanup, opset, distill, prune, quantize, quantize-int4, export-tflite)");
  });

  it('recipe: errors give the line, the key and the allowed values', () => {
    expect(error(`${head}passes:\n  - cleanup\n  - quantize:\n      mode: statc\n`)).toBe('job.yaml:6: passes[1].quantize.mode: must be one of static, dynamic, got "statc"');
    expect(error(`${head}passes:\n  - quantize:\n      calibSamples: 0\n`)).toBe('job.yaml:5: passes[0].quantize.calibSamples: must be ≥ 1, got 0');
    expect(error(`${head}passes:\n  - quantize:\n      mdoe: static\n`)).toMatch(/^job\.yaml:5: passes\[0\]\.quantize\.mdoe: unknown option 'mdoe' \(options: mode, format, /);
    expect(error(`${head}passes: [cleanup]\nbudget: { maxSize: 1MB }\n`)).toBe('job.yaml:4: budget: unknown key (allowed: version, input, output, passes, data, budgets, measure, externalData, report)');
    expect(error(`${head}passes: [cleanup]\nmeasure:\n  compressedSizes: sometimes\n`)).toBe('job.yaml:5: measure.compressedSizes: must be one of auto, always, never, got "sometimes"');
    expect(error(`${head}passes: [cleanup]\nbudgets:\n  maxSize: huge\n`)).toMatch(/^job\.yaml:5: budgets\.maxSize: invalid size "huge"/);
    expect(error(`${head}passes: [cleanup]\nreport: out.txt\n`)).toBe('job.yaml:4: report: use a .json, .md or .html file name, got "out.txt"');
    expect(error('input: m.onnx\npasses: [cleanup]\n')).toBe("job.yaml:1: missing 'output'");
    expect(error(`${head}passes: []\n`)).toBe('job.yaml:3: passes: must be a non-empty list of passes');
    expect(error(`${head}passes: [cleanup\n`)).toMatch(/^job\.yaml:\d+: not valid YAML: /);
    expect(error(`version: 2\n${head}passes: [cleanup]\n`)).toBe('job.yaml:1: version: unsupported version 2 (allowed: 1)');
  });
});
