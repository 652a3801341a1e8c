import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';

/** The ```yaml and ```json blocks of docs/recipes.md, in order. */
const blocks = [...readFileSync('docs/recipes.md', 'utf8').matchAll(/```(yaml|json)\n([\s\S]*?)```/g)].map((m) => ({ ext: m[1]!, text: m[2]! }));

describe('docs/recipes.md', () => {
  it('recipes: the page has its three examples', () => {
    expect(blocks.map((b) => b.ext)).toEqual(['yaml', 'yaml', 'json']);
  });

  it.each(blocks.map((b, i) => [i + 1, b] as const))('recipes: example %i runs as written', async (i, block) => {
    // A folder that looks like the repository: fixtures/ beside the recipe.
    const dir = mkdtempSync(join(tmpdir(), 'shrinkray-recipes-'));
    symlinkSync(resolve('fixtures'), join(dir, 'fixtures'));
    mkdirSync(join(dir, 'out'));
    const recipe = join(dir, `example${i}.${block.ext}`);
    writeFileSync(recipe, block.text);
    const r = await cli('run', recipe, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.stages.at(-1).deltas.sizeRatio).toBeLessThan(0.45);
    expect(report.budgets.every((b: { pass: boolean }) => b.pass)).toBe(true);
    expect(report.provenance.recipe.path).toBe(recipe);
  });
});
