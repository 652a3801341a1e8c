/**
 * `shrinkray analyze <model> --data <ds>`: prunes each layer alone at several fractions,
 * measures accuracy (or agreement without labels) in onnxruntime, and suggests per-layer
 * fractions for a drop budget.
 */
import { openDataset } from '../../data/dataset.ts';
import { InputError } from '../../errors.ts';
import { loadModel } from '../../io/load.ts';
import { validateModel } from '../../io/validate.ts';
import { analyzeSensitivity, sensitivityMarkdown } from '../../prune/sensitivity.ts';
import { writeFileAtomic } from '../../report/report.ts';
import type { CliIO, GlobalArgs } from '../io.ts';

export interface AnalyzeArgs extends GlobalArgs {
  model: string;
  data?: string;
  method: 'magnitude' | 'channels';
  sparsities: number[];
  maxDrop: number;
  limit: number;
  report: string[];
}

export async function analyzeCommand(args: AnalyzeArgs, io: CliIO): Promise<number> {
  if (!args.data) throw new InputError('analyze needs --data (a data set; labelled for accuracy, else agreement is used)');
  const model = await loadModel(args.model);
  validateModel(model, args.model);
  const dataset = await openDataset(args.data);
  try {
    const result = await analyzeSensitivity(model, dataset, {
      method: args.method,
      sparsities: args.sparsities,
      maxDrop: args.maxDrop,
      limit: args.limit,
    });
    const markdown = `## shrinkray sensitivity: \`${args.model}\`\n\n${sensitivityMarkdown(result)}`;
    for (const path of args.report) {
      if (path.endsWith('.json')) await writeFileAtomic(path, `${JSON.stringify({ model: args.model, ...result }, null, 2)}\n`);
      else if (path.endsWith('.md')) await writeFileAtomic(path, markdown);
      else throw new InputError(`--report ${path}: use a .json or .md file name`);
    }
    io.stdout.write(args.json ? `${JSON.stringify({ model: args.model, ...result }, null, 2)}\n` : markdown);
    return 0;
  } finally {
    await dataset.close();
  }
}
