/**
 * `shrinkray diff base.json head.json`: every stage's size, accuracy and latency change, as a
 * Markdown table fit for a PR comment, and budgets applied to head against base (exit 1 when
 * one breaks). Works on the JSON reports `compress`, `eval` and `run` write.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../../errors.ts';
import { enforceBudgets, parseSpeedupBudget } from '../../report/budgets.ts';
import { diffReports, diffToJson, renderDiffMarkdown } from '../../report/diff.ts';
import { parseReport, writeFileAtomic } from '../../report/report.ts';
import type { Report } from '../../report/schema.ts';
import { parseSize } from '../../report/size.ts';
import type { CliIO, GlobalArgs } from '../io.ts';
import { LATENCY_BATCH_N } from '../report-options.ts';

export interface DiffArgs extends GlobalArgs {
  base: string;
  head: string;
  maxAccuracyDrop?: number;
  /** Bytes ('2MB') or growth over base ('+5%'). */
  maxSize?: string;
  minSpeedup?: string[];
  report: string[];
}

async function readReport(path: string): Promise<Report> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  const report = parseReport(text, path);
  if (report.stages.length === 0) throw new InputError(`${path} has no stages`);
  return report;
}

function sizeLimit(text: string | undefined): { maxSize?: number; maxSizeGrowth?: number } {
  if (text === undefined) return {};
  const growth = /^\s*\+(\d+(?:\.\d+)?)%\s*$/.exec(text);
  return growth ? { maxSizeGrowth: Number(growth[1]) / 100 } : { maxSize: parseSize(text) };
}

export async function diffCommand(args: DiffArgs, io: CliIO): Promise<number> {
  const [base, head] = await Promise.all([readReport(args.base), readReport(args.head)]);
  const { batchN, ...speed } = parseSpeedupBudget(args.minSpeedup ?? []);
  const measuredN = head.stages.at(-1)?.latency?.batchN.n ?? LATENCY_BATCH_N;
  if (batchN !== undefined && batchN !== measuredN) throw new InputError(`--min-speedup b${batchN}:…: ${args.head} timed batch 1 and ${measuredN}`);
  const budgets = {
    ...(args.maxAccuracyDrop !== undefined && { maxAccuracyDrop: args.maxAccuracyDrop }),
    ...sizeLimit(args.maxSize),
    ...speed,
  };
  const diff = diffReports({ label: args.base, report: base }, { label: args.head, report: head }, budgets);
  const markdown = renderDiffMarkdown(diff);
  for (const path of args.report) {
    if (path.endsWith('.md')) await writeFileAtomic(path, markdown);
    else if (path.endsWith('.json')) await writeFileAtomic(path, diffToJson(diff));
    else throw new InputError(`--report ${path}: use a .md or .json file name`);
  }
  if (args.json) io.stdout.write(diffToJson(diff));
  else if (!args.quiet) io.stdout.write(markdown);
  enforceBudgets(diff.budgets);
  return 0;
}
