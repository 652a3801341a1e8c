/**
 * The commented starter recipe `shrinkray init` writes: the plan for this model and data,
 * every choice explained where it is made, the other knobs left as comments. It must run as
 * written (tested), so paths are relative to the recipe's folder, as `run` reads them.
 */
import type { ModelSummary } from '../inspect/summary.ts';
import type { DataKind, Plan } from './plan.ts';

export interface StarterInput {
  /** Paths relative to the recipe's folder. */
  model: string;
  output: string;
  data?: string;
  dataKind: DataKind;
  reportBase: string;
  summary: ModelSummary;
  plan: Plan;
  maxAccuracyDrop: number;
}

/** A YAML double-quoted scalar (JSON strings are valid ones). */
const q = (s: string) => JSON.stringify(s);

function value(v: string | number | boolean): string {
  return typeof v === 'string' ? q(v) : String(v);
}

export function starterRecipe(s: StarterInput): string {
  const m = s.summary;
  const lines = [
    `# shrinkray recipe, written by \`shrinkray init\` for ${s.model}:`,
    `# ${m.nodes} nodes, ${m.params.toLocaleString('en-US')} parameters, ops ${m.opTypes.slice(0, 6).map((o) => o.op).join(', ')}${m.opTypes.length > 6 ? ', …' : ''}.`,
    ...s.plan.why.map((w) => `# Plan: ${w}.`),
    '# Run it with: shrinkray run <this file>. Paths are relative to this file. Keys: docs/recipes.md.',
    'version: 1',
    `input: ${q(s.model)}`,
    `output: ${q(s.output)}`,
    '',
  ];
  if (s.data) {
    lines.push(
      'data:',
      s.dataKind === 'labelled'
        ? '  # Labelled (x and y): top-1 accuracy is measured on `eval`; quantize calibrates on `calib`.'
        : '  # Unlabelled: each stage is compared with the input model (top-1 agreement, SQNR).',
      '  # Calibrating on the evaluation set flatters the result: point calib at its own split if you have one.',
      `  calib: ${q(s.data)}`,
      `  eval: ${q(s.data)}`,
      '  # limit: 1000            # evaluate on the first N samples only',
      '',
    );
  }
  lines.push('passes:');
  for (const step of s.plan.steps) {
    lines.push(`  # ${step.why}.`);
    const options = Object.entries(step.options);
    if (options.length === 0) lines.push(`  - ${step.pass}`);
    else {
      lines.push(`  - ${step.pass}:`);
      for (const [k, v] of options) lines.push(`      ${k}: ${value(v)}`);
    }
    if (step.pass === 'quantize') {
      lines.push(
        '      # format: qdq           # or qoperator (QLinearConv, QGemm …)',
        '      # calibration: percentile   # minmax, percentile, entropy, mse',
        '      # debugLayers: true     # per-layer SQNR in the report',
      );
    }
  }
  lines.push(
    '  # More passes: `shrinkray passes` lists them with their options, e.g.',
    '  # - prune: { sparsity: 0.5 }',
    '',
    'budgets:                   # exit 1 when one is missed (the report is still written)',
    s.dataKind === 'labelled' ? `  maxAccuracyDrop: ${s.maxAccuracyDrop}       # top-1 points` : '  # maxAccuracyDrop: 1       # top-1 points (needs labelled data)',
    `  # maxSize: ${q('300KB')}        # on disk: 300KB, 2MiB, bytes`,
    '  # minSpeedup: 1           # batch 1 and 32; "b1:1.2" or "b32:1.2" for one of them',
    '',
    'measure:',
    '  # latency: true          # p50/p90 at batch 1 and 32 (default: models up to 128 MiB)',
    '  # threads: 1             # onnxruntime intra-op threads (default: one per core)',
    '',
    'report:',
    `  - ${q(`${s.reportBase}.json`)}`,
    `  - ${q(`${s.reportBase}.md`)}`,
    `  - ${q(`${s.reportBase}.html`)}`,
    '',
  );
  return lines.join('\n');
}
