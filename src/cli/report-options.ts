/**
 * Flags shared by commands that measure and report (eval, compress, quantize, prune):
 * the data set, the report files and the CI budgets.
 */
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
  /** `NAME=VALUE|file.npy` values fed whole to model inputs. */
  inputValue?: string[];
  limit?: number;
  batchSize: number;
  /** true forces, false skips, undefined: measured up to `largeModel` (large-model.ts). */
  latency?: boolean;
  /** onnxruntime intra-op threads for latency timing; default 1. */
  latencyThreads?: number;
  /** Size above which latency and full verification are left out unless forced; default 128MiB. */
  largeModel?: string;
  threads?: number;
  /** `NAME:D1,D2,…` and `SYMBOL=VALUE` (runtime/shapes.ts parses them). */
  inputShape?: string[];
  dim?: string[];
  compressedSizes: CompressedSizes;
  report: string[];
  maxAccuracyDrop?: number;
  maxSize?: string;
  minSpeedup?: string[];
  minAgreement?: number;
  /** dB; after a lossy pass the default is DEFAULT_MIN_SQNR_DB. */
  minSqnr?: number;
}

/** Latency is timed at batch 1 and this N (runtime/latency.ts's default), so `b<N>:` must name it. */
export const LATENCY_BATCH_N = 32;

export function budgetsFromArgs(args: ReportArgs): Budgets {
  return {
    ...(args.maxAccuracyDrop !== undefined && { maxAccuracyDrop: args.maxAccuracyDrop }),
    ...(args.maxSize !== undefined && { maxSize: parseSize(args.maxSize) }),
    ...speedupBudgets(args.minSpeedup ?? []),
    ...(args.minAgreement !== undefined && { minAgreement: args.minAgreement / 100 }),
    ...(args.minSqnr !== undefined && { minSqnr: args.minSqnr }),
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
