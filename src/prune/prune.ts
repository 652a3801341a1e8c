/**
 * `pruneModel`: structured channel pruning (the graph is rewritten smaller), then
 * unstructured magnitude or N:M pruning of what remains, then the storage choice, then a
 * check in onnxruntime — for channels, against the original with the removed channels
 * masked, which it must match. The model is changed in place; nothing is printed.
 */
import type { Dataset } from '../data/dataset.ts';
import { CheckError, InputError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import { densifySparseInitializers } from '../io/sparse.ts';
import type { InputShapes } from '../runtime/shapes.ts';
import type { InputValues } from '../data/input-values.ts';
import { constantsToInitializers } from '../transforms/constants-to-initializers.ts';
import { sinkInitializers } from '../transforms/sink-initializers.ts';
import { LAYER_OP_TYPES, prunableLayers, resolveSkip, type PrunableLayer } from './layers.ts';
import { pruneMagnitude, type MagnitudeTarget } from './magnitude.ts';
import { pruneNM } from './nm.ts';
import { applySparseStorage, SPARSE_MIN_IR } from './storage.ts';
import { pruneChannels } from './structured.ts';
import { checkOptions, PRUNE_DEFAULTS, type LayerReport, type PruneOptions, type PruneResult } from './types.ts';
import { summarizeModel } from '../inspect/summary.ts';
import { runtimeCheck, STRUCTURE_CHECK_NOTE } from '../runtime/check.ts';

export interface PruneHooks {
  progress?(fraction: number, label?: string): void;
  note?(message: string): void;
  /** Calibration data: channel pruning then compensates biases (option `compensate`). */
  calibration?: Dataset;
  /** The caller loads and runs the result itself (see PassContext.outputRunByCaller): no runtime check here. */
  outputRunByCaller?: boolean;
  /** Sizes of free input dims for the comparison on random inputs (PassContext.shapes). */
  shapes?: InputShapes;
  /** Inputs fed whole in that comparison (PassContext.inputValues). */
  inputValues?: InputValues;
}

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

  // Every kind of pruning reaches layers inside If/Loop/Scan bodies.
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
    checkNames(prunableLayers(model, LAYER_OP_TYPES, 'all'), Object.keys(o.layerChannels), 'layerChannels');
    const r = await pruneChannels(model, o, skipped, { ...hooks, note, progress });
    channelsRemoved = r.removed;
    verifyMaxDiff = r.verifyMaxDiff;
    for (const l of r.layers) reports.set(l.node, l);
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
      const kind = await runtimeCheck(model, 'the pruned model', 'auto', { note, given: { shapes: hooks.shapes, values: hooks.inputValues } });
      if (kind === 'structure') note(STRUCTURE_CHECK_NOTE);
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
