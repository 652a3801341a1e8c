/**
 * `shrinkray run recipe.yaml`: the job a recipe describes, by the same code as `compress`
 * (a recipe equivalent to a command line gives the same bytes), with the recipe, the data
 * sets' hashes and the seeds recorded in the report.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { recipeProvenance } from '../../recipe/provenance.ts';
import { loadRecipe, type Recipe } from '../../recipe/recipe.ts';
import type { CliIO, GlobalArgs } from '../io.ts';
import { runCompress, type OutputArgs } from './compress.ts';

export interface RunArgs extends GlobalArgs {
  recipe: string;
}

/** The flags `compress` would have been given for the same job. */
export function recipeArgs(recipe: Recipe, global: GlobalArgs): OutputArgs {
  return {
    ...global,
    input: recipe.input,
    output: recipe.output,
    externalData: recipe.externalData,
    data: recipe.data.eval,
    limit: recipe.data.limit,
    batchSize: recipe.measure.batchSize,
    latency: recipe.measure.latency,
    threads: recipe.measure.threads,
    compressedSizes: recipe.measure.compressedSizes,
    report: recipe.reports,
    ...recipe.budgets,
  };
}

export async function runCommand(args: RunArgs, io: CliIO): Promise<number> {
  const recipe = await loadRecipe(args.recipe);
  // A job file names where its results go: make the folders (a command line would not).
  for (const path of [recipe.output, ...recipe.reports]) await mkdir(dirname(path), { recursive: true });
  const global = { json: args.json, verbose: args.verbose, quiet: args.quiet };
  return runCompress(recipeArgs(recipe, global), recipe.steps, io, { provenance: await recipeProvenance(recipe) });
}
