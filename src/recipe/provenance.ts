/** What a recipe run records about its inputs: the recipe itself, data-set hashes and seeds. */
import type { Provenance } from '../report/schema.ts';
import { hashDataset } from './hash.ts';
import type { Recipe } from './recipe.ts';

/** measureLatency's default seed for its random inputs (runtime/latency.ts). */
export const LATENCY_SEED = 1;

export async function recipeProvenance(recipe: Recipe): Promise<Provenance> {
  const sets = new Map<string, string>();
  if (recipe.data.calib) sets.set(recipe.data.calib, 'calib');
  if (recipe.data.eval) sets.set(recipe.data.eval, 'eval');
  for (const step of recipe.steps) {
    for (const key of ['calib', 'evalData']) {
      const v = step.options?.[key];
      if (typeof v === 'string' && v && !sets.has(v)) sets.set(v, `${step.pass.name}.${key}`);
    }
  }
  const datasets = await Promise.all([...sets].map(async ([path, role]) => ({ role, path, sha256: await hashDataset(path) })));
  return { recipe: { path: recipe.path, content: recipe.content }, datasets, seeds: { latency: LATENCY_SEED } };
}
