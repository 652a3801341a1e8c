/**
 * Sensitivity analysis: each layer is pruned alone at several sparsities (magnitude) or
 * channel fractions (channels), the model is evaluated on a data set in onnxruntime,
 * and the accuracy — or, without labels, top-1 agreement with the unpruned model — is
 * tabulated per layer. Each layer's suggestion is the largest tried fraction whose drop
 * stays within the budget; the suggestions together are then evaluated as one model.
 * The model passed in is not changed.
 */
import { classLabels, toFloat32, type Dataset } from '../data/dataset.ts';
import { InputError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import { modelToBytes } from '../io/save.ts';
import { argmax } from '../report/metrics.ts';
import { runDataset, type Batch } from '../runtime/batches.ts';
import { createSession, type OrtSession } from '../runtime/ort.ts';
import { NP_DTYPES, type NpArray, type NpDtype } from '../data/npy.ts';
import { forEachTensorPiece } from '../ir/tensor-pieces.ts';
import type { Tensor } from '../ir/tensor.ts';
import { ValueInfo } from '../ir/value.ts';
import { prunableLayers } from './layers.ts';
import { pruneModel } from './prune.ts';
import type { Criterion } from './types.ts';

export interface SensitivityOptions {
  /** Fractions tried per layer. Default [0.25, 0.5, 0.75, 0.9]. */
  sparsities: number[];
  /** 'magnitude': unstructured weights; 'channels': the layer's output channels (with the layers coupled to it). Default 'magnitude'. */
  method: 'magnitude' | 'channels';
  /** Drop allowed per layer for the suggestion, in percentage points. Default 1. */
  maxDrop: number;
  /** Samples of the data set used; 0 = all. Default 1000. */
  limit: number;
  /** Samples per inference call. Default 256. */
  batchSize: number;
  /** Op types analysed. Default Conv, Gemm, MatMul. */
  opTypes: string[];
  /** Channel ranking for method 'channels'. Default 'l1'. */
  criterion: Criterion;
  /** Evaluate all suggestions applied together. Default true. */
  checkSuggestion: boolean;
}

export const SENSITIVITY_DEFAULTS: SensitivityOptions = {
  sparsities: [0.25, 0.5, 0.75, 0.9],
  method: 'magnitude',
  maxDrop: 1,
  limit: 1000,
  batchSize: 256,
  opTypes: ['Conv', 'Gemm', 'MatMul'],
  criterion: 'l1',
  checkSuggestion: true,
};

export interface SensitivityPoint {
  sparsity: number;
  /** Accuracy or agreement, as a fraction. */
  metric: number;
  /** Drop from the baseline in percentage points (negative: better). */
  drop: number;
}

export interface LayerSensitivity {
  node: string;
  op: string;
  params: number;
  points: SensitivityPoint[];
  /** Largest tried fraction within the budget (0: none). */
  suggested: number;
  /** Why the layer cannot be pruned by this method, when it cannot. */
  fixed?: string;
}

export interface SensitivityResult {
  metric: 'accuracy' | 'agreement';
  method: 'magnitude' | 'channels';
  samples: number;
  baseline: number;
  maxDrop: number;
  sparsities: number[];
  layers: LayerSensitivity[];
  suggestion: {
    /** Node name → fraction, for `layerSparsity` (magnitude) or `layerChannels` (channels). */
    layers: Record<string, number>;
    /** The same as a flag value: 'conv1=0.5,fc1=0.9'. */
    option: string;
    /** The suggested model, evaluated (checkSuggestion). */
    metric?: number;
    drop?: number;
    paramsBefore?: number;
    paramsAfter?: number;
    /** Zeros over all weights of the suggested model (magnitude). */
    sparsity?: number;
  };
}

interface Loaded {
  batches: Batch[];
  labels?: Int32Array[];
  samples: number;
}

async function loadSamples(ds: Dataset, o: SensitivityOptions): Promise<Loaded> {
  const batches: Batch[] = [];
  const labels: Int32Array[] = [];
  let samples = 0;
  for await (const b of ds.batches(o.batchSize, { limit: o.limit || undefined })) {
    batches.push({ x: toFloat32(b.x, ds.x.dtype), shape: b.shape });
    if (ds.y) labels.push(classLabels(ds, b));
    samples += b.shape[0]!;
  }
  if (!samples) throw new InputError(`${ds.path}: the data set has no samples`);
  return { batches, labels: ds.y ? labels : undefined, samples };
}

/** Top-1 class per sample of each batch, `weights` fed to every run (weight inputs of a weight-fed session). */
async function predictIn(session: OrtSession, data: Loaded, weights: Readonly<Record<string, NpArray>> = {}): Promise<Int32Array[]> {
  const out: Int32Array[] = [];
  for await (const b of runDataset(session, data.batches.map((batch) => ({ ...batch, constants: weights })))) {
    const rows = b.shape[0]!;
    const size = b.output.length / rows;
    out.push(Int32Array.from({ length: rows }, (_, r) => argmax(b.output, r * size, size)));
  }
  return out;
}

async function predict(bytes: Uint8Array, data: Loaded): Promise<Int32Array[]> {
  const session = await createSession(bytes, { label: 'the model under analysis' });
  try {
    return await predictIn(session, data);
  } finally {
    await session.close();
  }
}

/**
 * Magnitude points share one onnxruntime session in which the analysed layers' weights are
 * graph inputs, fed with every run (the layer under test pruned), instead of a model encoded
 * and opened per point: on the generated 1 GiB model that was 66 sessions of ~12 s and
 * ~1.1 GiB each (killed after 15 minutes). Baseline and points run the same graph.
 */
async function weightFedSession(model: Model, weights: readonly Tensor[]): Promise<OrtSession> {
  const fed = model.clone();
  for (const t of weights) {
    fed.graph.initializers.delete(t.name);
    if (!fed.graph.inputs.some((v) => v.name === t.name)) fed.graph.inputs.push(new ValueInfo(t.name, { dtype: t.dtype, shape: [...t.dims] }));
  }
  return createSession(modelToBytes(fed), { label: 'the model under analysis' });
}

/** `t`'s values as a feed; in `into` (a reused buffer of at least its size) when given, else in memory of its own. */
function asFeed(t: Tensor, into?: Uint8Array): NpArray {
  const feed = { dtype: t.dtype as NpDtype, shape: [...t.dims] };
  if (!into) return { ...feed, data: t.typed() };
  const bytes = into.subarray(0, t.byteLength);
  forEachTensorPiece(t, (piece, at) => bytes.set(piece, at));
  const Ctor = NP_DTYPES[feed.dtype].array;
  return { ...feed, data: new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, t.size) };
}

function score(pred: Int32Array[], truth: Int32Array[], samples: number): number {
  let hit = 0;
  pred.forEach((p, i) => p.forEach((c, r) => (hit += c === truth[i]![r] ? 1 : 0)));
  return hit / samples;
}

export interface SensitivityHooks {
  progress?(fraction: number, label?: string): void;
}

export async function analyzeSensitivity(model: Model, dataset: Dataset, options: Partial<SensitivityOptions> = {}, hooks: SensitivityHooks = {}): Promise<SensitivityResult> {
  const o: SensitivityOptions = { ...SENSITIVITY_DEFAULTS, ...options };
  if (!o.sparsities.length || o.sparsities.some((s) => !(s > 0 && s < 1))) throw new InputError(`sensitivity: sparsities must be in (0, 1), got ${o.sparsities.join(', ')}`);
  if (!(o.maxDrop >= 0)) throw new InputError(`sensitivity: maxDrop must be ≥ 0 points, got ${o.maxDrop}`);
  const sparsities = [...new Set(o.sparsities)].sort((a, b) => a - b);
  const data = await loadSamples(dataset, o);
  const layers = prunableLayers(model, o.opTypes);
  if (!layers.length) throw new InputError(`sensitivity: the model has no ${o.opTypes.join('/')} layer with a constant float weight`);
  const prune = async (fractions: Record<string, number>) => {
    const copy = model.clone();
    const result = await pruneModel(copy, {
      ...(o.method === 'magnitude' ? { layerSparsity: fractions } : { layerChannels: fractions, unsupported: 'skip' as const }),
      opTypes: o.opTypes,
      criterion: o.criterion,
      verify: false,
    });
    return { copy, result };
  };
  const weights = [...new Map(layers.map((l) => [l.weight.name, l.weight])).values()];
  const fedSession = o.method === 'magnitude' ? await weightFedSession(model, weights) : undefined;
  try {
    const originals = Object.fromEntries(weights.map((t) => [t.name, asFeed(t)]));
    let pointBuffer: Uint8Array | undefined;
    /** A pruned variant's top-1 classes: magnitude feeds the weights it changed (payloads are shared until written), channels opens its model. */
    const predictVariant = (copy: Model) => {
      if (!fedSession) return predict(modelToBytes(copy), data);
      const changed = weights.map((t) => copy.graph.initializers.get(t.name)).filter((t): t is Tensor => t !== undefined && t.payload !== model.graph.initializers.get(t.name)?.payload);
      // A point changes one weight: its values go to one reused buffer (fresh memory costs 3–8 s per GiB here).
      const reuse = changed.length === 1 ? (pointBuffer ??= new Uint8Array(Math.max(...weights.map((t) => t.byteLength)))) : undefined;
      return predictIn(fedSession, data, { ...originals, ...Object.fromEntries(changed.map((t) => [t.name, asFeed(t, reuse)])) });
    };
    const reference = fedSession ? await predictIn(fedSession, data, originals) : await predict(modelToBytes(model), data);
    const truth = data.labels ?? reference;
    const baseline = score(reference, truth, data.samples);
    const evaluate = async (copy: Model) => score(await predictVariant(copy), truth, data.samples);

    const total = layers.length * sparsities.length;
    const rows: LayerSensitivity[] = [];
    for (const [li, l] of layers.entries()) {
      const row: LayerSensitivity = { node: l.name, op: l.node.opType, params: l.weight.size, points: [], suggested: 0 };
      for (const [si, s] of sparsities.entries()) {
        hooks.progress?.((li * sparsities.length + si) / total, `${l.name} at ${s}`);
        const { copy, result } = await prune({ [l.name]: s });
        if (o.method === 'channels' && result.channelsRemoved === 0) {
          row.fixed = result.notes.find((n) => n.includes(`'${l.name}'`)) ?? 'no channel of this layer can be removed';
          break;
        }
        const metric = await evaluate(copy);
        row.points.push({ sparsity: s, metric, drop: (baseline - metric) * 100 });
      }
      row.suggested = row.points.filter((p) => p.drop <= o.maxDrop).reduce((m, p) => Math.max(m, p.sparsity), 0);
      rows.push(row);
    }
    const chosen = Object.fromEntries(rows.filter((r) => r.suggested > 0).map((r) => [r.node, r.suggested]));
    const suggestion: SensitivityResult['suggestion'] = {
      layers: chosen,
      option: Object.entries(chosen).map(([k, v]) => `${k}=${v}`).join(','),
    };
    if (o.checkSuggestion && Object.keys(chosen).length) {
      hooks.progress?.(0.99, 'suggestion');
      const { copy, result } = await prune(chosen);
      suggestion.metric = await evaluate(copy);
      suggestion.drop = (baseline - suggestion.metric) * 100;
      suggestion.paramsBefore = result.paramsBefore;
      suggestion.paramsAfter = result.paramsAfter;
      if (o.method === 'magnitude') suggestion.sparsity = result.achieved;
    }
    hooks.progress?.(1);
    return { metric: data.labels ? 'accuracy' : 'agreement', method: o.method, samples: data.samples, baseline, maxDrop: o.maxDrop, sparsities, layers: rows, suggestion };
  } finally {
    await fedSession?.close();
  }
}

const pct = (v: number) => (v * 100).toFixed(2);

/** The per-layer table and the suggestion, as Markdown lines. */
export function sensitivityMarkdown(r: SensitivityResult): string {
  const head = `| layer | op | params | ${r.sparsities.map((s) => `${r.method === 'channels' ? 'channels' : 'sparsity'} ${s}`).join(' | ')} | suggested |`;
  const lines = [
    `${r.metric === 'accuracy' ? 'Accuracy' : 'Top-1 agreement with the unpruned model'} (%) when one layer is pruned (${r.method}); baseline ${pct(r.baseline)} % on ${r.samples} samples.`,
    '',
    head,
    `|${'---|'.repeat(4 + r.sparsities.length)}`,
  ];
  for (const l of r.layers) {
    const cells = r.sparsities.map((s) => {
      const p = l.points.find((x) => x.sparsity === s);
      return p ? `${pct(p.metric)} (${p.drop >= 0 ? '−' : '+'}${Math.abs(p.drop).toFixed(2)})` : '—';
    });
    lines.push(`| ${l.node} | ${l.op} | ${l.params} | ${cells.join(' | ')} | ${l.fixed ? 'fixed' : l.suggested} |`);
  }
  const s = r.suggestion;
  lines.push('');
  if (!s.option) lines.push(`No layer stays within a ${r.maxDrop}-point drop at the tried fractions.`);
  else {
    const flag = r.method === 'channels' ? '--layer-channels' : '--layer-sparsity';
    lines.push(`Suggested for a drop of at most ${r.maxDrop} point(s) per layer: \`${flag} ${s.option}\``);
    if (s.metric !== undefined) {
      lines.push(`All together: ${pct(s.metric)} % (${s.drop! >= 0 ? '−' : '+'}${Math.abs(s.drop!).toFixed(2)} points)` +
        (s.sparsity !== undefined ? `, ${pct(s.sparsity)} % of the pruned layers' weights zero` : '') +
        (s.paramsAfter !== undefined && s.paramsAfter !== s.paramsBefore ? `, ${s.paramsBefore} → ${s.paramsAfter} parameters` : '') + '.');
    }
  }
  return lines.join('\n') + '\n';
}
