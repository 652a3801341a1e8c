/**
 * Builds the versioned report from per-stage measurements, serialises it, and writes report
 * files atomically (a reader never sees half a report, even if the process dies mid-write).
 */
import { InputError } from '../errors.ts';
import { AtomicFile, writeParts } from '../io/write.ts';
import { evaluateBudgets } from './budgets.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { agreementToJson, capSqnr } from './metrics.ts';
import type { Quality } from '../evaluate/quality.ts';
import type { Accuracy, Agreement } from './metrics.ts';
import { SCHEMA_VERSION } from './schema.ts';
import type { Budgets, Deltas, Environment, LatencyTiming, LayerBytes, Provenance, Report, Stage, StageLatency } from './schema.ts';
import type { Sizes } from './size.ts';

/** What the pipeline measured for one stage; `measureLatency`'s result (or one side of `compareLatency`'s) fits `latency`. */
export interface StageMeasurements {
  name: string;
  sizes: Sizes;
  params: number;
  sparsity: number;
  accuracy?: Accuracy;
  /** Against the input model, in memory form (SQNR may be Infinity). */
  agreement?: Agreement;
  /** Every float output against the input model's (SQNR may be Infinity). */
  quality?: Quality;
  latency?: StageLatency;
  seconds?: number;
  /** Weight bytes per layer (`layerBytes`), for the before/after chart. */
  layers?: LayerBytes[];
}

export interface ReportInput {
  version: string;
  input: string;
  output: string;
  /** The first is the reference for every delta and budget, the last is the output. */
  stages: readonly StageMeasurements[];
  budgets?: Budgets;
  notes?: readonly string[];
  createdAt?: Date;
  environment?: Environment;
  provenance?: Provenance;
}

/** Timer noise dwarfs 0.1 µs: more digits would only clutter the JSON. */
const roundMs = (v: number) => Math.round(v * 1e4) / 1e4;

function timingOf(t: LatencyTiming): LatencyTiming {
  // Field by field: callers may pass richer results than the schema records.
  return { ...(t.p10 !== undefined && { p10: roundMs(t.p10) }), p50: roundMs(t.p50), p90: roundMs(t.p90), ...(t.runs !== undefined && { runs: t.runs }) };
}

function latencyOf(l: StageLatency): StageLatency {
  return { ...(l.threads !== undefined && { threads: l.threads }), batch1: timingOf(l.batch1), batchN: { n: l.batchN.n, ...timingOf(l.batchN) } };
}

function toStage(m: StageMeasurements, ref: StageMeasurements): Stage {
  const latency = m.latency && latencyOf(m.latency);
  const refLatency = ref.latency && latencyOf(ref.latency);
  const deltas: Deltas = { sizeRatio: m.sizes.sizeBytes / ref.sizes.sizeBytes };
  if (m.accuracy && ref.accuracy) deltas.accuracyPoints = (m.accuracy.top1 - ref.accuracy.top1) * 100;
  // From the rounded values, so a reader can recompute it from the report.
  if (latency && refLatency) {
    deltas.speedup = refLatency.batch1.p50 / latency.batch1.p50;
    if (refLatency.batchN.n === latency.batchN.n) deltas.speedupBatchN = refLatency.batchN.p50 / latency.batchN.p50;
  }
  return {
    name: m.name,
    sizeBytes: m.sizes.sizeBytes,
    ...(m.sizes.gzipBytes !== undefined && { gzipBytes: m.sizes.gzipBytes, brotliBytes: m.sizes.brotliBytes }),
    params: m.params,
    sparsity: m.sparsity,
    ...(m.accuracy && { accuracy: { top1: m.accuracy.top1, samples: m.accuracy.samples } }),
    ...(m.agreement && { agreement: agreementToJson(m.agreement) }),
    ...(m.quality && { quality: { ...m.quality, outputs: m.quality.outputs.map((o) => ({ ...o, sqnrDb: capSqnr(o.sqnrDb) })) } }),
    ...(latency && { latency }),
    ...(m.seconds !== undefined && { seconds: Math.round(m.seconds * 1e3) / 1e3 }),
    ...(m.layers && { layers: m.layers }),
    deltas,
  };
}

export function buildReport(args: ReportInput): Report {
  const ref = args.stages[0];
  if (!ref) throw new Error('buildReport: no stages');
  const report: Report = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'shrinkray', version: args.version },
    createdAt: (args.createdAt ?? new Date()).toISOString(),
    input: args.input,
    output: args.output,
    stages: args.stages.map((s) => toStage(s, ref)),
    budgets: [],
    notes: [...(args.notes ?? [])],
    ...(args.environment && { environment: args.environment }),
    ...(args.provenance && { provenance: args.provenance }),
  };
  if (args.budgets) report.budgets = evaluateBudgets(report, args.budgets);
  return report;
}

export function reportToJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Reads a report back; refuses other schema versions rather than misreading them. */
export function parseReport(text: string, label = 'report'): Report {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${label} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const v = value as Partial<Report> | null;
  if (typeof v !== 'object' || v === null || v.schemaVersion === undefined) {
    throw new InputError(`${label} is not a shrinkray report (no schemaVersion)`);
  }
  if (v.schemaVersion !== SCHEMA_VERSION) {
    throw new InputError(`${label} has schemaVersion ${String(v.schemaVersion)}; this shrinkray reads version ${SCHEMA_VERSION}`);
  }
  if (!Array.isArray(v.stages) || !Array.isArray(v.budgets) || !Array.isArray(v.notes)) {
    throw new InputError(`${label} lacks stages, budgets or notes`);
  }
  return v as Report;
}

/** Writes via a temp file in the same directory, flushed, then renamed over `path`. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  let file: AtomicFile | undefined;
  try {
    file = new AtomicFile(path);
    await writeParts(file, [typeof data === 'string' ? Buffer.from(data) : data]);
    file.finish();
    file.rename();
  } catch (err) {
    file?.discard();
    throw new InputError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

export interface ReportPaths {
  json?: string;
  markdown?: string;
  html?: string;
}

/** Writes whichever of the JSON, Markdown and HTML forms has a path. */
export async function writeReport(report: Report, paths: ReportPaths): Promise<void> {
  if (paths.json !== undefined) await writeFileAtomic(paths.json, reportToJson(report));
  if (paths.markdown !== undefined) await writeFileAtomic(paths.markdown, renderMarkdown(report));
  if (paths.html !== undefined) await writeFileAtomic(paths.html, renderHtml(report));
}

/** The form is chosen by the extension: .json, .md, .html (or .htm). */
export function reportPaths(paths: readonly string[]): ReportPaths {
  const out: ReportPaths = {};
  for (const p of paths) {
    const ext = /\.[^./\\]+$/.exec(p)?.[0].toLowerCase();
    if (ext === '.json') out.json = p;
    else if (ext === '.md') out.markdown = p;
    else if (ext === '.html' || ext === '.htm') out.html = p;
    else throw new InputError(`--report ${p}: use a .json, .md or .html file name`);
  }
  return out;
}
