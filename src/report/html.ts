/**
 * The report as one self-contained HTML page: inline CSS and SVG, no script, no external
 * resource of any kind, so it opens offline, renders with JavaScript off, survives being
 * attached to a CI run, and prints (a print stylesheet drops colours that waste ink and keeps
 * charts whole on a page). Every piece of text from the report is escaped.
 */
import { DASH, latencyMethod, ms, pct, QUALITY_HEAD, qualityRows, signed, speedup, sqnr, stageColumns, times } from './markdown.ts';
import type { BudgetResult, Report, Stage } from './schema.ts';
import { formatSize } from './size.ts';
import { PALETTE, bars, escapeHtml as esc, groupedBars, pairedBars, scatter, type PairRow } from './svg.ts';

const STYLE = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #1b1f24; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.sub { color: #57606a; margin: 0 0 12px; } code { font: 12px ui-monospace, monospace; background: #f6f8fa; padding: 1px 4px; border-radius: 3px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0; } th, td { border: 1px solid #d0d7de; padding: 3px 7px; }
th { background: #f6f8fa; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #116329; } .fail { color: #a40e26; } .slower { color: #a40e26; font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.badge.pass { background: #dafbe1; } .badge.fail { background: #ffebe9; }
ul.budgets { list-style: none; padding: 0; } ul.budgets li { margin: 4px 0; }
.muted { color: #57606a; } figure { margin: 8px 0 16px; } figcaption { color: #57606a; font-size: 12px; }
svg { max-width: 100%; height: auto; } pre { background: #f6f8fa; padding: 8px; overflow-x: auto; font-size: 12px; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; } figure, table, svg { break-inside: avoid; }
  .badge.pass, .badge.fail, th, code, pre { background: none; }
  a { color: inherit; text-decoration: none; }
}
`;

const section = (id: string, title: string, body: string) => `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
const figure = (svg: string, caption: string) => `<figure>${svg}<figcaption>${esc(caption)}</figcaption></figure>`;
const muted = (text: string) => `<p class="muted">${esc(text)}</p>`;

function stageTable(report: Report): string {
  const cols = stageColumns(report);
  const head = cols.map((c) => `<th>${esc(c.head)}</th>`).join('');
  const rows = report.stages.map((s) => {
    const cells = cols.map((c) => {
      const text = c.cell(s) ?? DASH;
      const cls = [c.right ? 'num' : '', text.includes('(slower)') ? 'slower' : ''].filter(Boolean).join(' ');
      return `<td${cls ? ` class="${cls}"` : ''}>${esc(text)}</td>`;
    });
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<table data-table="stages"><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function qualityTable(report: Report): string {
  const rows = qualityRows(report);
  if (rows.length === 0) return muted('No lossy pass ran, or its outputs could not be compared with the input model.');
  const head = QUALITY_HEAD.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${i === 2 || i === 3 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<table data-table="quality"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function budgetList(budgets: readonly BudgetResult[]): string {
  if (budgets.length === 0) return muted('No budgets were given (--max-accuracy-drop, --max-size, --min-speedup).');
  const items = budgets.map((b) => {
    const cls = b.pass ? 'pass' : 'fail';
    const what = b.batch !== undefined ? `${b.budget} (batch ${b.batch})` : b.budget;
    return `<li class="${cls}" data-budget="${esc(b.budget)}" data-pass="${b.pass}"><span class="badge ${cls}">${b.pass ? '✓ passed' : '✗ failed'}</span> <strong>${esc(what)}</strong>: ${esc(b.reason)}</li>`;
  });
  return `<ul class="budgets">${items.join('')}</ul>`;
}

function sizeChart(report: Report): string {
  const names = report.stages.map((s) => s.name);
  const series = [
    { name: 'on disk', color: PALETTE[0]!, values: report.stages.map((s) => s.sizeBytes) },
    { name: 'gzip -9', color: PALETTE[1]!, values: report.stages.map((s) => s.gzipBytes) },
    { name: 'brotli 9', color: PALETTE[2]!, values: report.stages.map((s) => s.brotliBytes) },
  ].filter((s) => s.values.some((v) => v !== undefined));
  const last = report.stages.at(-1)!;
  const caption = `Size after each stage. ${last.name} is ${times(last.deltas.sizeRatio)} the input's size on disk.`;
  return figure(groupedBars('size-waterfall', 'Size across stages: bytes on disk, gzip and brotli', names, series, formatSize), caption);
}

function layerChart(report: Report): string {
  const first = report.stages[0]!;
  const last = report.stages.at(-1)!;
  if (!first.layers || !last.layers) return muted('Bytes per layer were not recorded for this run.');
  const after = new Map(last.layers.map((l) => [l.node, l.bytes]));
  const rows: PairRow[] = first.layers.slice(0, 15).map((l) => ({ label: l.node, before: l.bytes, after: after.get(l.node) }));
  const caption = `Weight bytes of the ${rows.length} largest layers, ${first.name} vs ${last.name} (a missing bar: the layer was removed or renamed).`;
  return figure(pairedBars('layer-bytes', 'Weight bytes per layer, before and after', rows, [first.name, last.name], formatSize), caption);
}

function accuracyChart(report: Report): string {
  const labelled = report.stages.filter((s) => s.accuracy);
  const agreeing = report.stages.filter((s) => s.agreement);
  const use = labelled.length > 0 ? { stages: labelled, y: (s: Stage) => s.accuracy!.top1, axis: 'top-1 accuracy' } : { stages: agreeing, y: (s: Stage) => s.agreement!.top1Match, axis: 'top-1 agreement with the input' };
  if (use.stages.length === 0) return muted('Not measured: give a data set (--data) for accuracy, or unlabelled samples for output agreement.');
  const points = use.stages.map((s) => ({ label: s.name, x: s.sizeBytes, y: use.y(s) }));
  const fy = (v: number) => `${(v * 100).toFixed(2)}%`;
  return figure(scatter('accuracy-vs-size', `${use.axis} vs size on disk`, points, { x: 'size on disk', y: use.axis }, formatSize, fy), `${use.axis[0]!.toUpperCase()}${use.axis.slice(1)} against size, one point per stage.`);
}

/** quantize's `debugLayers` writes one note per layer: `debug: <node> (<op>): SQNR <x> dB, …`. */
export function layerSqnrFromNotes(notes: readonly string[]): { node: string; op: string; sqnrDb: number }[] {
  const out: { node: string; op: string; sqnrDb: number }[] = [];
  for (const note of notes) {
    const m = /^debug: (.+) \(([^()]+)\): SQNR (-?Infinity|-?\d+(?:\.\d+)?) dB/.exec(note);
    if (m) out.push({ node: m[1]!, op: m[2]!, sqnrDb: Number(m[3]) });
  }
  return out;
}

function sensitivity(report: Report): string {
  const layers = layerSqnrFromNotes(report.notes);
  if (layers.length === 0) return muted('Not measured in this run (quantize with debugLayers=true records each layer’s SQNR against float; `shrinkray analyze` measures pruning sensitivity).');
  // Lower SQNR is worse: colour the bottom quarter so the layers to keep in float stand out.
  const finite = layers.map((l) => l.sqnrDb).filter(Number.isFinite).sort((a, b) => a - b);
  const low = finite[Math.floor((finite.length - 1) / 4)] ?? -Infinity;
  const rows = layers.map((l) => ({ label: `${l.node} (${l.op})`, value: Number.isFinite(l.sqnrDb) ? l.sqnrDb : 999, color: l.sqnrDb <= low ? PALETTE[4] : PALETTE[0] }));
  return figure(bars('layer-sqnr', 'Per-layer SQNR against float', rows, (v) => (v >= 999 ? '∞' : `${v.toFixed(1)} dB`)), 'Each quantized layer’s output against the float model’s, in network order; red: the lowest quarter.');
}

function latency(report: Report): string {
  const timed = report.stages.filter((s) => s.latency);
  if (timed.length === 0) return muted('Latency was not measured (--no-latency).');
  const n = timed[0]!.latency!.batchN.n;
  const cell = (text: string | undefined) => `<td class="num${text?.includes('(slower)') ? ' slower' : ''}">${esc(text ?? DASH)}</td>`;
  const p10 = (v: number | undefined) => (v === undefined ? undefined : ms(v));
  const rows = timed.map((s) => `<tr><td>${esc(s.name)}</td>${cell(p10(s.latency!.batch1.p10))}${cell(ms(s.latency!.batch1.p50))}${cell(ms(s.latency!.batch1.p90))}${cell(speedup(s.deltas.speedup))}${cell(p10(s.latency!.batchN.p10))}${cell(ms(s.latency!.batchN.p50))}${cell(ms(s.latency!.batchN.p90))}${cell(speedup(s.deltas.speedupBatchN))}</tr>`);
  const table = `<table data-table="latency"><thead><tr><th>Stage</th><th>p10 b1</th><th>p50 b1</th><th>p90 b1</th><th>Speed-up b1</th><th>p10 b${n}</th><th>p50 b${n}</th><th>p90 b${n}</th><th>Speed-up b${n}</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  const method = latencyMethod(report);
  const series = [
    { name: 'batch 1', color: PALETTE[0]!, values: timed.map((s) => s.deltas.speedup) },
    { name: `batch ${n}`, color: PALETTE[1]!, values: timed.map((s) => s.deltas.speedupBatchN) },
  ];
  const chart = groupedBars('speedup', `Speed-up over the input at batch 1 and batch ${n}`, timed.map((s) => s.name), series, times, 1);
  return `${method ? `<p>${esc(method)}</p>` : ''}${table}${figure(chart, `Speed-up = input p50 / stage p50 at the same batch size; below 1 is slower. Batch ${n} times one call of ${n} samples.`)}`;
}

function environment(report: Report): string {
  const e = report.environment;
  const rows: [string, string][] = [['shrinkray', report.tool.version], ['created', report.createdAt]];
  if (e) {
    rows.push(['Node.js', e.node], ['onnxruntime', e.onnxruntime], ['platform', `${e.platform} (${e.arch})`], ['CPU', `${e.cpu}, ${e.cores} cores`], ['intra-op threads', e.threads ? String(e.threads) : 'onnxruntime default (one per core)']);
  }
  const p = report.provenance;
  if (p) {
    for (const d of p.datasets) rows.push([`data (${d.role})`, `${d.path} · sha256 ${d.sha256.slice(0, 16)}…`]);
    for (const [k, v] of Object.entries(p.seeds)) rows.push([`seed ${k}`, String(v)]);
    if (p.recipe) rows.push(['recipe', p.recipe.path]);
  }
  const table = `<table data-table="environment"><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`;
  const recipe = p?.recipe ? `<details open><summary>Recipe</summary><pre>${esc(JSON.stringify(p.recipe.content, null, 2))}</pre></details>` : '';
  return table + recipe;
}

function summary(report: Report): string {
  const first = report.stages[0]!;
  const last = report.stages.at(-1)!;
  const parts = [`${formatSize(first.sizeBytes)} → ${formatSize(last.sizeBytes)} (${times(last.deltas.sizeRatio)})`];
  if (last.deltas.accuracyPoints !== undefined) parts.push(`top-1 ${pct(first.accuracy!.top1)} → ${pct(last.accuracy!.top1)} (${signed(last.deltas.accuracyPoints, 2)} pts)`);
  else if (last.agreement) parts.push(`top-1 agreement ${pct(last.agreement.top1Match)}, SQNR ${sqnr(last.agreement.sqnrDb)}`);
  if (last.deltas.speedup !== undefined) parts.push(`speed-up ${speedup(last.deltas.speedup)} at batch 1, ${speedup(last.deltas.speedupBatchN) ?? DASH} at batch ${last.latency!.batchN.n}`);
  const failed = report.budgets.filter((b) => !b.pass).length;
  const verdict = report.budgets.length === 0 ? '' : failed ? ` <span class="badge fail">${failed} budget${failed > 1 ? 's' : ''} failed</span>` : ' <span class="badge pass">all budgets passed</span>';
  return `<p data-summary>${esc(parts.join(' · '))}${verdict}</p>`;
}

export function renderHtml(report: Report): string {
  const title = `shrinkray report: ${report.output}`;
  const notes = report.notes.length ? `<ul>${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : muted('No notes.');
  const body = [
    `<header><h1>shrinkray report</h1><p class="sub"><code>${esc(report.input)}</code> → <code>${esc(report.output)}</code> · shrinkray ${esc(report.tool.version)} · ${esc(report.createdAt)}</p>${summary(report)}</header>`,
    section('budgets', 'Budgets', budgetList(report.budgets)),
    section('stages', 'Stages', stageTable(report)),
    section('quality', 'Outputs vs the input model', qualityTable(report)),
    section('size', 'Size across stages', sizeChart(report)),
    section('layers', 'Bytes per layer', layerChart(report)),
    section('accuracy', 'Accuracy vs size', accuracyChart(report)),
    section('sensitivity', 'Per-layer sensitivity', sensitivity(report)),
    section('latency', 'Latency', latency(report)),
    section('notes', 'Notes', notes),
    section('environment', 'Environment', environment(report)),
  ];
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${STYLE}</style></head><body>${body.join('\n')}</body></html>\n`;
}
