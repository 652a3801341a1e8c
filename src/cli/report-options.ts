/**
 * Flags shared by commands that measure and report (eval, compress, quantize, prune):
 * the data set, the report files and the CI budgets.
 */
import type { Argv } from 'yargs';
import { InputError } from '../errors.ts';
import { evaluateBudgets, enforceBudgets, parseSpeedupBudget } from '../report/budgets.ts';
import { renderMarkdown } from '../report/markdown.ts';
import { buildReport, reportPaths, reportToJson, writeReport, type ReportInput } from '../report/report.ts';
import type { Budgets, Report } from '../report/schema.ts';
import { COMPRESSED_SIZE_LIMIT, parseSize, type CompressedSizes } from '../report/size.ts';
import { toolVersion } from '../version.ts';
import { currentEnvironment } from '../report/environment.ts';
import type { CliIO, GlobalArgs } from './io.ts';

export interface ReportArgs extends GlobalArgs {
  data?: string;
  limit?: number;
  batchSize: number;
  latency: boolean;
  threads?: number;
  compressedSizes: CompressedSizes;
  report: string[];
  maxAccuracyDrop?: number;
  maxSize?: string;
  minSpeedup?: string[];
  minAgreement?: number;
}

/** Latency is timed at batch 1 and this N (measureLatency's default), so `b<N>:` must name it. */
export const LATENCY_BATCH_N = 32;

export function reportOptions<T>(y: Argv<T>) {
  return y
    .option('data', { type: 'string', describe: 'Data set (.npz with x and y, folder of .npy, or image folder)' })
    .option('limit', { type: 'number', describe: 'Use at most this many samples of the data set' })
    .option('batch-size', { type: 'number', default: 64, describe: 'Samples per inference call' })
    .option('latency', { type: 'boolean', default: true, describe: 'Measure latency at batch 1 and 32 (--no-latency to skip)' })
    .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: one per core)' })
    .option('compressed-sizes', { choices: ['auto', 'always', 'never'] as const, default: 'auto' as const, describe: 'Measure gzip/brotli sizes (auto: files up to 64 MiB; they take about a minute per GB)' })
    .option('report', { type: 'string', array: true, default: [], describe: 'Write the report: .json, .md and/or .html paths (repeatable; the extension picks the form)' })
    .option('max-accuracy-drop', { type: 'number', describe: 'Budget: top-1 points the output may lose (exit 1 if broken)' })
    .option('max-size', { type: 'string', describe: 'Budget: output size on disk, e.g. 300KB, 2MiB (exit 1 if broken)' })
    .option('min-agreement', { type: 'number', describe: 'Budget: top-1 agreement with the input, in % of samples (for unlabelled data; exit 1 if broken)' })
    .option('min-speedup', { type: 'string', array: true, describe: 'Budget: speed-up over the input; 1.2 gates batch 1 and 32, b1:1.2 or b32:1.2 one of them (exit 1 if broken)' });
}

export function budgetsFromArgs(args: ReportArgs): Budgets {
  return {
    ...(args.maxAccuracyDrop !== undefined && { maxAccuracyDrop: args.maxAccuracyDrop }),
    ...(args.maxSize !== undefined && { maxSize: parseSize(args.maxSize) }),
    ...speedupBudgets(args.minSpeedup ?? []),
    ...(args.minAgreement !== undefined && { minAgreement: args.minAgreement / 100 }),
  };
}

function speedupBudgets(values: readonly string[]): Pick<Budgets, 'minSpeedup' | 'minSpeedupBatchN'> {
  const { batchN, ...budgets } = parseSpeedupBudget(values);
  if (batchN !== undefined && batchN !== LATENCY_BATCH_N) {
    throw new InputError(`--min-speedup b${batchN}:…: latency is measured at batch 1 and ${LATENCY_BATCH_N}; use b1: or b${LATENCY_BATCH_N}:`);
  }
  return budgets;
}

/**
 * A run a pass stopped with a failed check (quantize's fallback cannot meet its accuracy
 * budget): the report of what was measured, with the failure as its last note, is written and
 * printed all the same — CI keeps it as evidence — and the caller then rethrows (exit 1).
 */
export async function writeFailedReport(args: ReportArgs, input: Omit<ReportInput, 'version' | 'budgets'>, failure: Error, io: CliIO): Promise<void> {
  const environment = input.environment ?? currentEnvironment(args.threads);
  await publish(buildReport({ ...input, notes: [...(input.notes ?? []), `failed: ${failure.message}`], version: toolVersion(), environment }), args, io);
}

/** Writes the report files asked for and prints the report (JSON with --json, else Markdown unless --quiet). */
async function publish(report: Report, args: ReportArgs, io: CliIO): Promise<void> {
  await writeReport(report, reportPaths(args.report));
  if (args.json) io.stdout.write(reportToJson(report));
  else if (!args.quiet) io.stdout.write(renderMarkdown(report));
}

/**
 * Builds the report, writes it (even when a budget fails: CI keeps it as evidence), prints
 * it, then enforces the budgets.
 */
export async function finishReport(args: ReportArgs, input: Omit<ReportInput, 'version' | 'budgets'>, io: CliIO): Promise<Report> {
  const budgets = budgetsFromArgs(args);
  const skipped = input.stages.some((s) => s.sizes.gzipBytes === undefined) && args.compressedSizes === 'auto';
  const notes = skipped ? [...(input.notes ?? []), `gzip/brotli sizes not measured above ${COMPRESSED_SIZE_LIMIT / 2 ** 20} MiB (--compressed-sizes always measures them)`] : input.notes;
  const report = buildReport({ ...input, notes, version: toolVersion(), environment: input.environment ?? currentEnvironment(args.threads) });
  report.budgets = evaluateBudgets(report, budgets);
  await publish(report, args, io);
  enforceBudgets(report.budgets);
  return report;
}
