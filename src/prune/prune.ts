/**
 * `pruneModel`: structured channel pruning (the graph is rewritten smaller), then
 * unstructured magnitude or N:M pruning of what remains, then the storage choice, then a
 * check in onnxruntime — for channels, against the original with the removed channels
 * masked, which it must match. The model is changed in place; nothing is printed.
 */
import type { Dataset } from '../data/dataset.ts';
import { CheckError, InputError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import { modelToBytes } from '../io/save.ts';
import { densifySparseInitializers } from '../io/sparse.ts';
import { compareInChildProcess, type OutputDiff } from '../runtime/verify.ts';
import type { InputShapes } from '../runtime/shapes.ts';
import { constantsToInitializers } from '../transforms/constants-to-initializers.ts';
import { eliminateDeadCode } from '../transforms/dead-code.ts';
import { sinkInitializers } from '../transforms/sink-initializers.ts';
import { analyzeChannels } from './channel-graph.ts';
import { planChannels } from './channel-plan.ts';
import { maskReference, rewriteChannels } from './channel-rewrite.ts';
import { compensateBiases, sinkWeights } from './compensate.ts';
import { LAYER_OP_TYPES, prunableLayers, resolveSkip, type PrunableLayer } from './layers.ts';
import { pruneMagnitude, type MagnitudeTarget } from './magnitude.ts';
import { pruneNM } from './nm.ts';
import { applySparseStorage, SPARSE_MIN_IR } from './storage.ts';
import { checkOptions, PRUNE_DEFAULTS, type LayerReport, type PruneOptions, type PruneResult } from './types.ts';
import { summarizeModel } from '../inspect/summary.ts';
import { checkRuns } from '../runtime/check.ts';

export interface PruneHooks {
  progress?(fraction: number, label?: string): void;
  note?(message: string): void;
  /** Calibration data: channel pruning then compensates biases (option `compensate`). */
  calibration?: Dataset;
  /** The caller loads and runs the result itself (see PassContext.outputRunByCaller): no runtime check here. */
  outputRunByCaller?: boolean;
  /** Sizes of free input dims for the comparison on random inputs (PassContext.shapes). */
  shapes?: InputShapes;
}

/** Relative tolerance of the masked-reference comparison (float sums in another order). */
export const MASK_TOLERANCE = 1e-4;
/**
 * The same where LayerNorm statistics were renormalised: the reference takes them as masked
 * sums, whose rounding deep networks amplify (ppocrv4-rec: up to 1.4e-4 on a softmax output).
 */
export const MASK_TOLERANCE_RENORMALIZED = 1e-3;

/** Elements of every numeric initializer, dense and sparse, in all graphs. */
/** Parameters and zeros of every weight, sparse initializers counted dense (as `inspect` does). */
export function countParams(model: Model): { params: number; zeros: number } {
  const { params, zeros } = summarizeModel(model);
  return { params, zeros };
}

function checkNames(layers: readonly PrunableLayer[], names: readonly string[], what: string): void {
  const known = new Set(layers.map((l) => l.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) {
    throw new InputError(`prune: ${what} names ${unknown.map((n) => `'${n}'`).join(', ')}, not a prunable layer (layers: ${[...known].join(', ')})`);
  }
}

/** Max |difference| between the pruned model and the masked original on random inputs; throws past tolerance. */
async function compareMasked(reference: Model, pruned: Model, note: (m: string) => void, tolerance: number, shapes?: InputShapes): Promise<number | undefined> {
  let diffs: OutputDiff[];
  try {
    diffs = await compareInChildProcess(modelToBytes(reference), modelToBytes(pruned), { shapes });
  } catch (err) {
    // Inputs random feeds cannot fill (unnamed dynamic dims, bool or string inputs), or inputs
    // onnxruntime crashes on: loading is the check.
    if (err instanceof InputError && /symbolic dim|dynamic dim|random inputs exist for|is not a tensor|onnxruntime crashed/.test(err.message)) {
      note(`channels: outputs not compared (${err.message})`);
      return undefined;
    }
    throw err;
  }
  let max = 0;
  for (const d of diffs) {
    max = Math.max(max, d.maxAbsDiff);
    if (!(d.maxAbsDiff <= tolerance * Math.max(1, d.maxAbs))) {
      throw new CheckError(`prune: the channel-pruned model's output '${d.output}' differs from the masked original by ${d.maxAbsDiff} (max |value| ${d.maxAbs})`);
    }
  }
  return max;
}


/** Prunes a copy and adopts it only once every check passed: a failure leaves `model` as it was. */
export async function pruneModel(model: Model, options: Partial<PruneOptions> = {}, hooks: PruneHooks = {}): Promise<PruneResult> {
  const work = model.clone();
  const result = await pruneInPlace(work, options, hooks);
  model.adopt(work);
  return result;
}

async function pruneInPlace(model: Model, options: Partial<PruneOptions>, hooks: PruneHooks): Promise<PruneResult> {
  const o: PruneOptions = { ...PRUNE_DEFAULTS, ...options };
  checkOptions(o);
  const notes: string[] = [];
  const note = (m: string) => {
    notes.push(m);
    hooks.note?.(m);
  };
  const progress = (f: number, l?: string) => hooks.progress?.(f, l);
  const g = model.graph;
  const densified = densifySparseInitializers(g);
  if (densified) note(`${densified} sparse initializer(s) read as dense`);
  constantsToInitializers(g);
  sinkInitializers(g);
  const before = countParams(model);

  // Magnitude and N:M pruning reach layers inside If/Loop/Scan bodies; channels follow the main graph.
  let layers = prunableLayers(model, o.opTypes, 'all');
  if (!layers.length) throw new InputError(`prune: the model has no ${o.opTypes.join('/')} layer with a constant float weight`);
  const { names: skipped, unknown } = resolveSkip(layers, o.skip);
  checkNames(layers, unknown, 'skip');
  checkNames(layers, Object.keys(o.layerSparsity), 'layerSparsity');
  const reports = new Map<string, LayerReport>();
  let channelsRemoved = 0;
  let verifyMaxDiff: number | undefined;

  const structured = o.channels > 0 || Object.keys(o.layerChannels).length > 0;
  if (structured) {
    progress(0.1, 'channel dependencies');
    g.sortTopologically();
    const allLayers = prunableLayers(model, LAYER_OP_TYPES);
    checkNames(allLayers, Object.keys(o.layerChannels), 'layerChannels');
    const cg = analyzeChannels(model, o.unsupported);
    const keep = new Map<string, string>();
    for (const s of cg.spaces) {
      if (skipped.has(s.layer.name)) keep.set(s.layer.name, `layer '${s.layer.name}' is skipped`);
      else if (!o.opTypes.includes(s.layer.node.opType)) keep.set(s.layer.name, `${s.layer.node.opType} is not in opTypes`);
    }
    const plan = planChannels(cg, { fraction: o.channels, overrides: o.layerChannels, criterion: o.criterion, keep });
    for (const n of [...cg.notes, ...plan.notes]) note(n);
    const renormalized = [...new Set(cg.statistics.filter((s) => s.ids.some((id) => !plan.kept(id))).map((s) => s.norm))];
    if (renormalized.length) {
      note(
        `channels: ${renormalized.length} LayerNorm(s) (${renormalized.slice(0, 2).join(', ')}${renormalized.length > 2 ? ', …' : ''}) now normalize over the kept features only: ` +
          'their mean and variance change, so the kept features change too (compare the outputs with the input model)',
      );
    }
    const inBodies = layers.length - prunableLayers(model, o.opTypes).length;
    if (inBodies > 0) note(`channels: ${inBodies} layer(s) inside If/Loop/Scan bodies keep their channels (structured pruning follows the main graph; magnitude and N:M reach them)`);
    const compensating = o.compensate && hooks.calibration !== undefined && plan.removed > 0;
    const original = (o.verify || compensating) && plan.removed > 0 ? model.clone() : undefined;
    const readers = compensating ? sinkWeights(cg, plan) : undefined;
    progress(0.3, 'rewriting channels');
    rewriteChannels(cg, plan);
    channelsRemoved = plan.removed;
    for (const s of cg.spaces) {
      reports.set(s.layer.name, {
        node: s.layer.name,
        op: s.layer.node.opType,
        weight: s.layer.node.inputs[1]!,
        params: 0,
        zeros: 0,
        sparsity: 0,
        channelsBefore: s.size,
        channelsAfter: plan.keptPerSpace[s.index],
        target: o.layerChannels[s.layer.name] ?? o.channels,
      });
    }
    if (original) {
      progress(0.4, 'comparing with the masked original');
      const reference = original;
      maskReference(cg, plan, reference);
      if (o.verify) verifyMaxDiff = await compareMasked(reference, model, note, renormalized.length ? MASK_TOLERANCE_RENORMALIZED : MASK_TOLERANCE, hooks.shapes);
      if (readers) {
        progress(0.5, 'bias compensation');
        const source = { dataset: hooks.calibration!, limit: o.calibSamples, batchSize: 64 };
        const n = await compensateBiases(cg, plan, readers, reference, source);
        note(`channels: biases of ${n} layer(s) compensated for the removed channels' means (${Math.min(o.calibSamples, hooks.calibration!.length)} calibration samples)`);
      }
    }
    eliminateDeadCode(g);
    layers = prunableLayers(model, o.opTypes, 'all');
  }

  progress(0.6, 'weights');
  const active = layers.filter((l) => !skipped.has(l.name));
  let requested: number | undefined;
  let targeted: PrunableLayer[] = [];
  if (o.pattern) {
    const { n, m } = o.pattern;
    requested = 1 - n / m;
    targeted = active;
    pruneNM(targeted, o.pattern);
    const uneven = targeted.filter((l) => l.weight.dims[l.layout.inAxis]! % m !== 0).map((l) => l.name);
    if (uneven.length) note(`${n}:${m}: ${uneven.join(', ')} ha${uneven.length > 1 ? 've' : 's'} input channels not a multiple of ${m}; the last run of each is shorter`);
  } else if (o.sparsity > 0 || Object.keys(o.layerSparsity).length) {
    const targets: MagnitudeTarget[] = [];
    for (const l of active) {
      const own = o.layerSparsity[l.name];
      if (own !== undefined) targets.push({ layer: l, sparsity: own });
      else if (o.sparsity > 0) targets.push({ layer: l, sparsity: o.global ? undefined : o.sparsity });
    }
    targeted = targets.map((t) => t.layer);
    pruneMagnitude(targets, o.sparsity);
    if (o.sparsity > 0) requested = o.sparsity;
  }
  const targetedNames = new Set(targeted.map((l) => l.name));
  let tZeros = 0;
  let tParams = 0;
  const counted = new Set<string>();
  for (const l of layers) {
    const zeros = l.weight.zeroCount();
    const r = reports.get(l.name) ?? { node: l.name, op: l.node.opType, weight: l.weight.name, params: 0, zeros: 0, sparsity: 0 };
    Object.assign(r, { weight: l.weight.name, params: l.weight.size, zeros, sparsity: zeros / l.weight.size });
    if (skipped.has(l.name)) r.skipped = 'skip';
    else if (targetedNames.has(l.name)) r.target = o.pattern ? requested : (o.layerSparsity[l.name] ?? o.sparsity);
    reports.set(l.name, r);
    if (targetedNames.has(l.name) && !counted.has(l.weight.name)) {
      counted.add(l.weight.name);
      tZeros += zeros;
      tParams += l.weight.size;
    }
  }

  let storage: PruneResult['storage'] = [];
  if (o.storage !== 'dense') {
    progress(0.8, 'storage');
    if (Number(model.irVersion) < SPARSE_MIN_IR) note(`storage: the model has IR version ${model.irVersion}; sparse initializers need ${SPARSE_MIN_IR}, so weights stay dense`);
    else storage = applySparseStorage(model, o.storage);
  }
  const after = countParams(model);
  if (o.verify && !hooks.outputRunByCaller) {
    progress(0.9, 'runtime check');
    try {
      await checkRuns(model, 'the pruned model', { note });
    } catch (err) {
      throw new CheckError(`prune: ${(err as Error).message}`, { cause: err });
    }
  }
  progress(1);
  return {
    layers: [...reports.values()],
    requested,
    achieved: tParams ? tZeros / tParams : 0,
    overallSparsity: after.params ? after.zeros / after.params : 0,
    paramsBefore: before.params,
    paramsAfter: after.params,
    channelsRemoved,
    storage,
    verifyMaxDiff,
    notes,
  };
}
