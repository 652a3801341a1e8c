/**
 * `shrinkray init <model> [--data d] [-o recipe.yaml]`: a commented starter recipe from what
 * `inspect` finds in the model and whether the data set has labels; it runs as written.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, extname, relative, resolve } from 'node:path';
import { openDataset } from '../../data/dataset.ts';
import { InputError } from '../../errors.ts';
import { summarizeModel } from '../../inspect/summary.ts';
import { loadModel } from '../../io/load.ts';
import { planCompression, type DataKind } from '../../recipe/plan.ts';
import { starterRecipe } from '../../recipe/starter.ts';
import { writeFileAtomic } from '../../report/report.ts';
import type { CliIO, GlobalArgs } from '../io.ts';

export interface InitArgs extends GlobalArgs {
  model: string;
  data?: string;
  output: string;
  maxAccuracyDrop: number;
  force: boolean;
}

/** Whether a data set has labels, without reading its samples. */
export async function dataKind(path: string | undefined): Promise<DataKind> {
  if (!path) return 'none';
  const ds = await openDataset(path);
  try {
    return ds.y ? 'labelled' : 'unlabelled';
  } finally {
    await ds.close();
  }
}

export async function initCommand(args: InitArgs, io: CliIO): Promise<number> {
  if (existsSync(args.output) && !args.force) throw new InputError(`${args.output} exists (--force overwrites it)`);
  const summary = summarizeModel(await loadModel(args.model));
  const kind = await dataKind(args.data);
  const plan = planCompression(summary, kind, args.maxAccuracyDrop);
  const dir = dirname(resolve(args.output));
  const rel = (p: string) => relative(dir, resolve(p)) || '.';
  const stem = basename(args.model, extname(args.model));
  const text = starterRecipe({
    model: rel(args.model),
    output: `${stem}.${plan.steps.some((s) => s.pass === 'quantize') ? 'int8' : 'small'}.onnx`,
    data: args.data && rel(args.data),
    dataKind: kind,
    reportBase: `${stem}.report`,
    summary,
    plan,
    maxAccuracyDrop: args.maxAccuracyDrop,
  });
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(args.output, text);
  if (args.json) io.stdout.write(`${JSON.stringify({ recipe: args.output, plan }, null, 2)}\n`);
  else if (!args.quiet) io.stdout.write(`wrote ${args.output}: ${plan.why.join('; ')}\nrun it with: shrinkray run ${args.output}\n`);
  return 0;
}
