/**
 * Two reports side by side (a PR's run against its base branch's), in the form size-limit and
 * bundlewatch post as PR comments: one table of every stage with base → head and the change,
 * then the budgets, applied to head's output against base's output.
 */
import { evaluateBudgets } from './budgets.ts';
import { DASH, ms, pct, signed, speedup } from './markdown.ts';
import { buildReport, type StageMeasurements } from './report.ts';
import type { BudgetResult, Budgets, Report, Stage } from './schema.ts';
import { formatSize } from './size.ts';

export interface StageDiff {
  name: string;
  base?: Stage;
  head?: Stage;
  /** head / base − 1, e.g. −0.1 is 10 % smaller. */
  sizeChange?: number;
  /** (head top-1 − base top-1) × 100. */
  accuracyPoints?: number;
  /** base p50 / head p50: above 1 head is faster. */
  speedup?: number;
  speedupBatchN?: number;
}

export interface ReportDiff {
  base: { label: string; report: Report };
  head: { label: string; report: Report };
  stages: StageDiff[];
  budgets: BudgetResult[];
}

function measurements(s: Stage, name: string): StageMeasurements {
  const sizes = { sizeBytes: s.sizeBytes, ...(s.gzipBytes !== undefined && { gzipBytes: s.gzipBytes, brotliBytes: s.brotliBytes }) };
  return { name, sizes, params: s.params, sparsity: s.sparsity, accuracy: s.accuracy, latency: s.latency };
}

function stageDiff(name: string, base: Stage | undefined, head: Stage | undefined): StageDiff {
  const d: StageDiff = { name, base, head };
  if (!base || !head) return d;
  d.sizeChange = head.sizeBytes / base.sizeBytes - 1;
  if (base.accuracy && head.accuracy) d.accuracyPoints = (head.accuracy.top1 - base.accuracy.top1) * 100;
  if (base.latency && head.latency) {
    d.speedup = base.latency.batch1.p50 / head.latency.batch1.p50;
    if (base.latency.batchN.n === head.latency.batchN.n) d.speedupBatchN = base.latency.batchN.p50 / head.latency.batchN.p50;
  }
  return d;
}

/**
 * Stages pair by name, in head's order, then stages only base had. `budgets.maxSize` may be
 * given as growth instead (`maxSizeGrowth`, a fraction): head's output may be at most that
 * much larger than base's.
 */
export function diffReports(base: { label: string; report: Report }, head: { label: string; report: Report }, budgets: Budgets & { maxSizeGrowth?: number } = {}): ReportDiff {
  const byName = (r: Report) => new Map(r.stages.map((s) => [s.name, s]));
  const baseStages = byName(base.report);
  const headStages = byName(head.report);
  const names = [...headStages.keys(), ...[...baseStages.keys()].filter((n) => !headStages.has(n))];
  const stages = names.map((n) => stageDiff(n, baseStages.get(n), headStages.get(n)));
  const baseOut = base.report.stages.at(-1)!;
  const headOut = head.report.stages.at(-1)!;
  const { maxSizeGrowth, ...limits } = budgets;
  if (maxSizeGrowth !== undefined) limits.maxSize = Math.floor(baseOut.sizeBytes * (1 + maxSizeGrowth));
  // The same budget code as a single run, with base's output in the place of the input.
  const pair = buildReport({ version: head.report.tool.version, input: base.report.output, output: head.report.output, stages: [measurements(baseOut, 'base'), measurements(headOut, 'head')] });
  return { base, head, stages, budgets: evaluateBudgets(pair, limits, 'the base run') };
}

const change = (v: number | undefined, digits = 1) => (v === undefined ? DASH : `${signed(v * 100, digits)}%`);
const arrow = (a: string | undefined, b: string | undefined) => (a === b ? (a ?? DASH) : `${a ?? DASH} → ${b ?? DASH}`);

/** Table text must not break the table. */
const cell = (text: string) => text.replace(/[\\|`*_[\]<>]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');

export function renderDiffMarkdown(d: ReportDiff): string {
  const n = d.stages.find((s) => s.head?.latency)?.head?.latency?.batchN.n ?? 32;
  const head = ['Stage', 'Size', 'Δ size', 'Top-1', 'Δ top-1 (pts)', 'p50 b1', 'Speed-up b1', `p50 b${n}`, `Speed-up b${n}`];
  const rows = d.stages.map((s) => [
    s.name,
    arrow(s.base && formatSize(s.base.sizeBytes), s.head && formatSize(s.head.sizeBytes)),
    change(s.sizeChange),
    arrow(s.base?.accuracy && pct(s.base.accuracy.top1), s.head?.accuracy && pct(s.head.accuracy.top1)),
    s.accuracyPoints === undefined ? DASH : signed(s.accuracyPoints, 2),
    arrow(s.base?.latency && ms(s.base.latency.batch1.p50), s.head?.latency && ms(s.head.latency.batch1.p50)),
    speedup(s.speedup) ?? DASH,
    arrow(s.base?.latency && ms(s.base.latency.batchN.p50), s.head?.latency && ms(s.head.latency.batchN.p50)),
    speedup(s.speedupBatchN) ?? DASH,
  ]);
  const failed = d.budgets.filter((b) => !b.pass).length;
  const verdict = d.budgets.length === 0 ? '' : failed ? ` · ❌ ${failed} of ${d.budgets.length} budgets failed` : ` · ✅ all ${d.budgets.length} budgets passed`;
  const lines = [
    '## shrinkray diff',
    '',
    `base \`${d.base.label.replace(/`/g, "'")}\` → head \`${d.head.label.replace(/`/g, "'")}\`${verdict}`,
    '',
    `| ${head.join(' | ')} |`,
    `|:---|${head.slice(1).map(() => '---:').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    '',
    'Speed-up is base p50 / head p50 at the same batch size: above 1× head is faster.',
  ];
  const same = d.stages[0];
  if (same?.base && same.head && same.base.sizeBytes === same.head.sizeBytes && same.speedup !== undefined && Math.abs(Math.log(same.speedup)) > Math.log(1.1)) {
    // The same input model timed differently: the runs' machines (or their load) differ.
    lines.push(`The same \`${cell(same.name)}\` model timed ${speedup(same.speedup)} between the runs: latency changes of that order are machine noise.`);
  }
  if (d.budgets.length > 0) {
    lines.push('', '### Budgets (head against base)', '');
    for (const b of d.budgets) lines.push(`- ${b.pass ? '✅' : '❌'} **${b.budget}**: ${cell(b.reason)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** JSON form: the per-stage changes and budgets, without repeating both reports. */
export function diffToJson(d: ReportDiff): string {
  const stages = d.stages.map(({ base, head, ...rest }) => ({ ...rest, inBase: base !== undefined, inHead: head !== undefined }));
  return `${JSON.stringify({ base: d.base.label, head: d.head.label, stages, budgets: d.budgets }, null, 2)}\n`;
}
