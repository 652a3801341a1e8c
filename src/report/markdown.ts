/**
 * Markdown for a GitHub job summary: one table row per stage with deltas against the input,
 * then budgets with pass/fail marks, then notes. Columns nobody measured are left out.
 */
import { SQNR_CAP_DB } from './metrics.ts';
import type { LatencyTiming, Report, Stage } from './schema.ts';
import { formatSize } from './size.ts';

export const DASH = '—';

/** Table cells and inline text must not break the table or start markup. */
function esc(text: string): string {
  return text.replace(/[\\|`*_[\]<>]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

export const pct = (fraction: number) => `${(fraction * 100).toFixed(2)}%`;
export const signed = (v: number, digits: number) => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(digits)}`;
export const times = (v: number) => `${v.toFixed(2)}×`;
export const ms = (v: number) => `${v < 10 ? v.toFixed(3) : v.toFixed(1)} ms`;

function seconds(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  return s < 10 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}

/** A ratio below 1 says so in words: a "0.83×" column is too easy to read as a gain. */
export function speedup(ratio: number | undefined): string | undefined {
  if (ratio === undefined) return undefined;
  // Judged on the shown value: "1.00× (slower)" would contradict itself.
  return Number(ratio.toFixed(2)) < 1 ? `${times(ratio)} (slower)` : times(ratio);
}

export function sqnr(db: number): string {
  if (db >= SQNR_CAP_DB) return '∞';
  if (db <= -SQNR_CAP_DB) return '−∞';
  return `${db.toFixed(1)} dB`;
}

/** A p50 with its p10–p90 spread when the report has it (reports before 0.2 do not). */
export function timing(t: LatencyTiming): string {
  return t.p10 === undefined ? ms(t.p50) : `${ms(t.p50)} (${spreadMs(t.p10)}–${spreadMs(t.p90)})`;
}

const spreadMs = (v: number) => (v < 10 ? v.toFixed(3) : v.toFixed(1));

/** How latency was timed, in one sentence; undefined for reports that do not record it. */
export function latencyMethod(report: Report): string | undefined {
  const timed = report.stages.filter((s) => s.latency);
  const l = timed[0]?.latency;
  if (l?.threads === undefined) return undefined;
  const how = timed.length > 1 ? `${timed.map((s) => s.name).join(' and ')} timed interleaved in one process` : `${timed[0]!.name} timed`;
  const runs = l.batch1.runs === undefined ? '' : `, ${l.batch1.runs} runs at batch 1 and ${l.batchN.runs} at batch ${l.batchN.n}`;
  return `Latency: ${how} with ${l.threads} intra-op thread${l.threads > 1 ? 's' : ''} on random inputs; p50 (p10–p90)${runs}.`;
}

export interface Column {
  head: string;
  right: boolean;
  cell: (s: Stage) => string | undefined;
}

/** The stage table's columns, cells as plain text (each format escapes them its own way). */
export function stageColumns(report: Report): Column[] {
  const n = report.stages.find((s) => s.latency)?.latency?.batchN.n;
  const spread = report.stages.some((s) => s.latency?.batch1.p10 !== undefined) ? ' (p10–p90)' : '';
  const all: Column[] = [
    { head: 'Stage', right: false, cell: (s) => s.name },
    { head: 'Size', right: true, cell: (s) => formatSize(s.sizeBytes) },
    { head: 'vs input', right: true, cell: (s) => times(s.deltas.sizeRatio) },
    { head: 'gzip', right: true, cell: (s) => s.gzipBytes === undefined ? undefined : formatSize(s.gzipBytes) },
    { head: 'brotli', right: true, cell: (s) => s.brotliBytes === undefined ? undefined : formatSize(s.brotliBytes) },
    { head: 'Params', right: true, cell: (s) => s.params.toLocaleString('en-US') },
    { head: 'Sparsity', right: true, cell: (s) => pct(s.sparsity) },
    { head: 'Top-1', right: true, cell: (s) => s.accuracy && pct(s.accuracy.top1) },
    { head: 'Δ top-1 (pts)', right: true, cell: (s) => s.deltas.accuracyPoints === undefined ? undefined : signed(s.deltas.accuracyPoints, 2) },
    { head: 'Top-1 match', right: true, cell: (s) => s.agreement && pct(s.agreement.top1Match) },
    { head: 'SQNR', right: true, cell: (s) => s.agreement && sqnr(s.agreement.sqnrDb) },
    { head: `p50 b1${spread}`, right: true, cell: (s) => s.latency && timing(s.latency.batch1) },
    { head: `p50 b${n ?? 'N'}${spread}`, right: true, cell: (s) => s.latency && timing(s.latency.batchN) },
    { head: 'Speed-up b1', right: true, cell: (s) => speedup(s.deltas.speedup) },
    { head: `Speed-up b${n ?? 'N'}`, right: true, cell: (s) => speedup(s.deltas.speedupBatchN) },
    { head: 'Time', right: true, cell: (s) => s.seconds === undefined ? undefined : seconds(s.seconds) },
  ];
  return all.filter((c) => report.stages.some((s) => c.cell(s) !== undefined));
}

/** Rows of the quality table (stage, output, cosine, SQNR, data) for every stage compared with the input. */
export function qualityRows(report: Report): string[][] {
  return report.stages.flatMap((s) =>
    (s.quality?.outputs ?? []).map((o) => [s.name, o.output, o.cosine.toFixed(4), sqnr(o.sqnrDb), `${s.quality!.data} (${s.quality!.samples})`]),
  );
}

export const QUALITY_HEAD = ['Stage', 'Output', 'Cosine', 'SQNR', 'Data (samples)'];

export function renderMarkdown(report: Report): string {
  const cols = stageColumns(report);
  const lines = [
    '## shrinkray report',
    '',
    `\`${report.input.replace(/`/g, "'")}\` → \`${report.output.replace(/`/g, "'")}\` · shrinkray ${esc(report.tool.version)} · ${report.createdAt}`,
    '',
    `| ${cols.map((c) => c.head).join(' | ')} |`,
    `|${cols.map((c) => (c.right ? '---:' : ':---')).join('|')}|`,
    ...report.stages.map((s) => `| ${cols.map((c) => esc(c.cell(s) ?? DASH)).join(' | ')} |`),
  ];
  const quality = qualityRows(report);
  if (quality.length > 0) {
    lines.push('', '### Outputs vs the input model', '', `| ${QUALITY_HEAD.join(' | ')} |`, '|:---|:---|---:|---:|:---|');
    for (const row of quality) lines.push(`| ${row.map(esc).join(' | ')} |`);
  }
  if (report.budgets.length > 0) {
    lines.push('', '### Budgets', '');
    for (const b of report.budgets) lines.push(`- ${b.pass ? '✅' : '❌'} **${b.budget}**: ${esc(b.reason)}`);
  }
  if (report.notes.length > 0) {
    lines.push('', '### Notes', '');
    for (const note of report.notes) lines.push(`- ${esc(note)}`);
  }
  const method = latencyMethod(report);
  if (method) lines.push('', `<sub>${esc(method)}</sub>`);
  const e = report.environment;
  if (e) {
    // Timings mean little without the machine: one line, so speed-ups can be read honestly.
    lines.push('', `<sub>Measured with Node ${esc(e.node)}, onnxruntime ${esc(e.onnxruntime)}, ${e.threads ? `${e.threads} intra-op thread${e.threads > 1 ? 's' : ''}` : 'default threads'} on ${esc(e.cpu)} (${e.cores} cores, ${esc(e.platform)} ${esc(e.arch)}).</sub>`);
  }
  return `${lines.join('\n')}\n`;
}
