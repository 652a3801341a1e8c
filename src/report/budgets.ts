/**
 * Budgets compare the output stage with the input stage. Evaluation never throws for a broken
 * budget: the caller writes the report (which records every result) and then enforces.
 */
import { CheckError, InputError } from '../errors.ts';
import { formatSize } from './size.ts';
import type { BudgetName, BudgetResult, Budgets, Report, Stage } from './schema.ts';

// Differences computed from float fractions may miss a limit by rounding alone.
const EPS = 1e-9;

const pct = (fraction: number) => `${(fraction * 100).toFixed(2)}%`;
const ms = (v: number) => `${v.toFixed(3)} ms`;

export function validateBudgets(budgets: Budgets): void {
  for (const [name, value] of Object.entries(budgets) as [BudgetName, number | undefined][]) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new InputError(`budget ${name} must be a non-negative number, got ${value}`);
    }
  }
}

function accuracyBudget(limit: number, input: Stage, output: Stage, file: string): BudgetResult {
  const base = { budget: 'maxAccuracyDrop' as const, limit };
  if (!input.accuracy || !output.accuracy || output.deltas.accuracyPoints === undefined) {
    return { ...base, actual: null, pass: false, reason: `cannot check the accuracy budget: no accuracy measured for ${file} and its input (give a data set)` };
  }
  const drop = -output.deltas.accuracyPoints;
  const pass = drop <= limit + EPS;
  const change = `${pct(input.accuracy.top1)} → ${pct(output.accuracy.top1)}`;
  return {
    ...base,
    actual: drop,
    pass,
    reason: `${file}: accuracy drop ${drop.toFixed(2)} points ${pass ? 'is within' : 'exceeds'} the ${limit}-point budget (${change})`,
  };
}

function sizeBudget(limit: number, output: Stage, file: string): BudgetResult {
  const pass = output.sizeBytes <= limit;
  return {
    budget: 'maxSize',
    limit,
    actual: output.sizeBytes,
    pass,
    reason: `${file} is ${formatSize(output.sizeBytes)} (${output.sizeBytes} B), ${pass ? 'within' : 'over'} the ${formatSize(limit)} budget`,
  };
}

function speedBudget(limit: number, batch: 1 | 'N', input: Stage, output: Stage, file: string, reference: string): BudgetResult {
  const name = batch === 1 ? 'minSpeedup' as const : 'minSpeedupBatchN' as const;
  const speedup = batch === 1 ? output.deltas.speedup : output.deltas.speedupBatchN;
  const n = batch === 1 ? 1 : (output.latency?.batchN.n ?? input.latency?.batchN.n);
  const base = { budget: name, limit, ...(n !== undefined && { batch: n }) };
  if (!input.latency || !output.latency || speedup === undefined) {
    return { ...base, actual: null, pass: false, reason: `cannot check the batch-${n ?? 'N'} speed-up budget: no latency measured for ${file} and ${reference}` };
  }
  const pass = speedup >= limit - EPS;
  const before = batch === 1 ? input.latency.batch1.p50 : input.latency.batchN.p50;
  const after = batch === 1 ? output.latency.batch1.p50 : output.latency.batchN.p50;
  const how = speedup < 1 ? `${(1 / speedup).toFixed(2)}× slower than ${reference}` : `${speedup.toFixed(2)}× as fast as ${reference}`;
  return {
    ...base,
    actual: speedup,
    pass,
    reason: `${file} is ${how} at batch ${n} (p50 ${ms(before)} → ${ms(after)}), ${pass ? 'meeting' : 'short of'} the ${limit}× budget`,
  };
}

function agreementBudget(limit: number, output: Stage, file: string): BudgetResult {
  const base = { budget: 'minAgreement' as const, limit };
  if (!output.agreement) return { ...base, actual: null, pass: false, reason: `cannot check the agreement budget: ${file} was not compared with its input (give a data set)` };
  const actual = output.agreement.top1Match;
  const pass = actual >= limit - EPS;
  return { ...base, actual, pass, reason: `${file} agrees with its input on the top-1 class of ${pct(actual)} of ${output.agreement.samples} samples, ${pass ? 'meeting' : 'under'} the ${pct(limit)} budget` };
}

function sqnrBudget(limit: number, output: Stage, file: string): BudgetResult {
  const base = { budget: 'minSqnr' as const, limit };
  const q = output.quality;
  if (!q || q.outputs.length === 0) return { ...base, actual: null, pass: false, reason: `cannot check the SQNR floor: ${file} was not compared with its input` };
  const worst = q.outputs.reduce((a, b) => (b.sqnrDb < a.sqnrDb || Number.isNaN(b.sqnrDb) ? b : a));
  const pass = worst.sqnrDb >= limit - EPS;
  const on = `on ${q.data} (${q.samples} sample${q.samples === 1 ? '' : 's'})`;
  return { ...base, actual: worst.sqnrDb, pass, reason: `${file}: output '${worst.output}' SQNR ${worst.sqnrDb.toFixed(1)} dB (cosine ${worst.cosine.toFixed(4)}) vs its input ${on}, ${pass ? 'meeting' : 'under'} the ${limit} dB floor` };
}

/**
 * `--min-speedup` values: `1.2` gates batch 1 and batch N alike; `b1:1.2` only batch 1;
 * `b32:1.5` only batch N, whose N must be the one measured (checked when evaluated). Several
 * may be given, comma-separated or repeated: `b1:1,b32:1.5`.
 */
export function parseSpeedupBudget(values: readonly string[]): { minSpeedup?: number; minSpeedupBatchN?: number; batchN?: number } {
  const out: { minSpeedup?: number; minSpeedupBatchN?: number; batchN?: number } = {};
  for (const text of values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)) {
    const m = /^(?:b(\d+):)?(\d+(?:\.\d+)?|\.\d+)$/i.exec(text);
    if (!m) throw new InputError(`--min-speedup ${text}: expected a factor (1.2: batch 1 and N), b1:<factor> or b<N>:<factor> (e.g. b32:1.5)`);
    const factor = Number(m[2]);
    if (m[1] === undefined) {
      out.minSpeedup = factor;
      out.minSpeedupBatchN = factor;
    } else if (Number(m[1]) === 1) out.minSpeedup = factor;
    else {
      out.minSpeedupBatchN = factor;
      out.batchN = Number(m[1]);
    }
  }
  return out;
}

/**
 * One result per budget given, in a fixed order: accuracy, size, speed at batch 1 and N, agreement, SQNR. `reference` names the
 * first stage in reasons ('its input'; `diff` says 'the base run').
 */
export function evaluateBudgets(report: Report, budgets: Budgets, reference = 'its input'): BudgetResult[] {
  validateBudgets(budgets);
  const input = report.stages[0];
  const output = report.stages.at(-1);
  if (!input || !output) throw new Error('evaluateBudgets: the report has no stages');
  const results: BudgetResult[] = [];
  if (budgets.maxAccuracyDrop !== undefined) results.push(accuracyBudget(budgets.maxAccuracyDrop, input, output, report.output));
  if (budgets.maxSize !== undefined) results.push(sizeBudget(budgets.maxSize, output, report.output));
  if (budgets.minSpeedup !== undefined) results.push(speedBudget(budgets.minSpeedup, 1, input, output, report.output, reference));
  if (budgets.minSpeedupBatchN !== undefined) results.push(speedBudget(budgets.minSpeedupBatchN, 'N', input, output, report.output, reference));
  if (budgets.minAgreement !== undefined) results.push(agreementBudget(budgets.minAgreement, output, report.output));
  if (budgets.minSqnr !== undefined) results.push(sqnrBudget(budgets.minSqnr, output, report.output));
  return results;
}

/**
 * Throws for the first failed budget: CheckError (exit 1) when it was measured and missed,
 * InputError (exit 2) when it could not be measured, because then the request was at fault.
 */
export function enforceBudgets(results: readonly BudgetResult[]): void {
  const failed = results.find((r) => !r.pass);
  if (!failed) return;
  const message = `budget ${failed.budget} failed: ${failed.reason}`;
  throw failed.actual === null ? new InputError(message) : new CheckError(message);
}
