/**
 * Latency-driven placement of static int8 layers. Whether a layer is faster in int8 depends
 * on what onnxruntime makes of the QDQ graph: its fusions, its QDQ propagation (a
 * QuantizeLinear moved above a MaxPool runs that pool on uint8 in a slow NCHW kernel: lenet5's
 * pool1 446 µs vs 35 µs float at batch 32, per its profile), and its kernels (MLAS's int8
 * convolution loses on shallow inputs). So variants are built and timed against each other in
 * onnxruntime (src/runtime/latency.ts) rather than predicted: each layer, in graph order, goes
 * back to float when that makes the whole model faster. Every batch size placement weighs
 * (placementBatches, default 32: where int8 pays off) counts alike:
 *   balanced: a layer goes float when the model runs at least 3 % faster with it in float at
 *             some batch size and clearly slower at none; int8 still more than 3 % slower than
 *             fp32 at any batch size gives the float model.
 *   speed:    the same for any measured gain above 1 %; int8 slower than fp32 at any batch
 *             size gives the float model.
 * The decision is recorded (layers, reasons, every comparison's ratios) and `floatLayers`
 * replays it without timing, so the output does not depend on the machine.
 *
 * Each trial builds a variant and times it against the current one, so placement costs one
 * comparison per layer: about 0.3 s on the fixtures, but 20–40 s at batch 32 on ppocrv4-det
 * (150 layers: over an hour). A time budget (placementSeconds, shared by the placements before
 * and after fallback) bounds it: a layer is tried only while the budget holds another trial of
 * the cost measured so far; the layers not tried stay int8, and the report and a note name them.
 */
import { InputError } from '../../errors.ts';
import type { Model } from '../../ir/model.ts';
import { LARGE_MODEL_BYTES, ModelFiles, modelToBytes, tensorBytes } from '../../io/save.ts';
import { nodeName, type Node } from '../../ir/node.ts';
import { compareModels, type RoundRatio } from '../../runtime/latency.ts';
import type { InputShapes } from '../../runtime/shapes.ts';
import type { InputValues } from '../../data/input-values.ts';
import type { Variant, VariantBuilder } from './variants.ts';
import type { QuantizeOptions } from './types.ts';

export type PlacementTarget = 'speed' | 'balanced';

/**
 * How many times faster `b` runs than `a` in onnxruntime, time(a) / time(b), at each of
 * `batches` in order: the median and range over rounds.
 */
export type CompareFn = (a: Model, b: Model, batches: readonly number[]) => Promise<RoundRatio[]>;

/** One A/B comparison placement ran: which trial, and b's speed-up over a per batch size. */
export interface PlacementComparison {
  /** 'planned vs fp32', a layer's name (that layer in float vs the current variant), or 'placed vs fp32'. */
  trial: string;
  ratios: (RoundRatio & { batch: number })[];
  /** For a layer trial: whether the layer went to float. */
  float?: boolean;
}

export interface PlacementReport {
  target: PlacementTarget;
  /** The batch sizes weighed. */
  batches: number[];
  /** Speed-up over fp32 (fp32 time / int8 time) per batch size, with every planned layer in int8. */
  plannedSpeedup: number[];
  /** Speed-up over fp32 of the result per batch size (1 when it is the float model). */
  finalSpeedup: number[];
  /** Layers returned to float for speed, in the order they were. */
  keptFloat: string[];
  /** Every A/B comparison run, in order (empty when replayed). */
  comparisons: PlacementComparison[];
  /** Set when the decision was replayed from `floatLayers` rather than timed. */
  replayed?: boolean;
  /** Layers the time budget left untried (they stay int8, as planned). */
  untimed?: string[];
}

export interface PlacementArgs {
  floatModel: Model;
  builder: VariantBuilder;
  /** The variant `builder` makes with nothing extra in float, already built. */
  initial: Variant;
  target: PlacementTarget;
  batches: readonly number[];
  compare: CompareFn;
  /** How speed was measured, for the reasons given (e.g. "1 thread"). */
  setting: string;
  /** performance.now() (ms) after which no layer trial starts that would not end before it (placementSeconds). */
  deadline?: number;
  progress?: (fraction: number, label?: string) => void;
}

/** What random inputs the timed comparisons need: sizes of free dims, constant inputs (a sample rate). */
export interface PlacementFeeds {
  shapes?: InputShapes;
  values?: InputValues;
}

export interface Placed {
  variant: Variant;
  floatLayers: Map<Node, string>;
  report: PlacementReport;
}

/**
 * What an A/B comparison resolves here (interleaved comparisons of a model with itself stay
 * within it): balanced returns a layer to float only when that makes the model at least this
 * much faster, and keeps int8 unless it is this much slower than fp32. Either step also needs
 * every round to agree on the direction: a comparison the machine's load made unclear changes
 * nothing (every planned layer stays int8, as with target size).
 */
const RESOLUTION = 0.03;
/** speed takes any gain it measures above this. */
const SPEED_GAIN = 0.01;

const times = (v: number) => `${v.toFixed(2)}×`;
const perBatch = (r: readonly (RoundRatio & { batch: number })[]) => r.map((g) => `${times(g.ratio)} at batch ${g.batch}`).join(', ');
const clearGain = (g: RoundRatio, min: number) => g.ratio >= min && g.lo > 1;
const clearLoss = (g: RoundRatio, min: number) => g.ratio <= 1 / min && g.hi < 1;

/** The float model as a variant: no int8 layer, not even int8-stored constants (their DequantizeLinear nodes cost time as well). */
function floatVariant(floatModel: Model, initial: Variant, float: ReadonlyMap<Node, string>): Variant {
  return { model: floatModel.clone(), quantized: [], skipped: new Map([...initial.skipped, ...float]), probes: [], weights: 0 };
}

export async function placeForSpeed(a: PlacementArgs): Promise<Placed> {
  const comparisons: PlacementComparison[] = [];
  const compare = async (trial: string, x: Model, y: Model) => {
    const ratios = (await a.compare(x, y, a.batches)).map((r, i) => ({ batch: a.batches[i]!, ...r }));
    const c: PlacementComparison = { trial, ratios };
    comparisons.push(c);
    return c;
  };
  const started = performance.now();
  const planned = await compare('planned vs fp32', a.floatModel, a.initial.model);
  /** Layers this placement returns to float. */
  const placed = new Map<Node, string>();
  const report: PlacementReport = {
    target: a.target, batches: [...a.batches], plannedSpeedup: planned.ratios.map((r) => r.ratio), finalSpeedup: planned.ratios.map((r) => r.ratio), keptFloat: [], comparisons,
  };
  let final = planned;
  let variant = a.initial;
  const candidates = a.builder.layers;
  const minGain = 1 + (a.target === 'speed' ? SPEED_GAIN : RESOLUTION);
  // The first comparison's cost stands for a trial's until trials have been timed: the longest so far.
  let trialMs = performance.now() - started;
  for (const [i, layer] of candidates.entries()) {
    if (a.deadline !== undefined && performance.now() + trialMs > a.deadline) {
      report.untimed = candidates.slice(i).map(nodeName);
      break;
    }
    a.progress?.(i / candidates.length, `placement ${i}/${candidates.length} layers tried, now ${nodeName(layer)}`);
    const t0 = performance.now();
    const trial = await a.builder.build(new Map([...placed, [layer, '']]));
    const c = await compare(nodeName(layer), variant.model, trial.model);
    trialMs = Math.max(i === 0 ? 0 : trialMs, performance.now() - t0);
    c.float = c.ratios.some((g) => clearGain(g, minGain)) && !c.ratios.some((g) => clearLoss(g, minGain));
    if (!c.float) continue;
    placed.set(layer, `faster in float in onnxruntime: with it in float the model's speed-up was ${perBatch(c.ratios)} (${a.setting})`);
    report.keptFloat.push(nodeName(layer));
    variant = trial;
  }
  if (placed.size) {
    final = await compare('placed vs fp32', a.floatModel, variant.model);
    report.finalSpeedup = final.ratios.map((r) => r.ratio);
  }
  // Slower than fp32 at some batch size (balanced: by more than the resolution), every round agreeing.
  const keep = a.target === 'balanced' ? 1 - RESOLUTION : 1;
  if (final.ratios.some((g) => g.ratio < keep && g.hi < 1) && candidates.length) {
    const why = `no int8 placement tried ran ${a.target === 'balanced' ? 'as fast as' : 'faster than'} fp32 in onnxruntime (best ${perBatch(final.ratios)} fp32, ${a.setting})`;
    for (const layer of candidates) {
      if (placed.has(layer)) continue;
      placed.set(layer, why);
      report.keptFloat.push(nodeName(layer));
    }
    variant = floatVariant(a.floatModel, a.initial, placed);
    report.finalSpeedup = a.batches.map(() => 1);
  }
  return { variant, floatLayers: placed, report };
}

/**
 * A recorded decision applied without timing: the layers named stay float; naming every
 * planned layer gives the float model, as the timed decision does.
 */
export async function replayPlacement(floatModel: Model, builder: VariantBuilder, initial: Variant, target: PlacementTarget, names: readonly string[]): Promise<Placed> {
  const byName = new Map(builder.layers.map((n) => [nodeName(n), n]));
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length) {
    const layers = [...byName.keys()];
    throw new InputError(`quantize: floatLayers names ${unknown.map((n) => `'${n}'`).join(', ')}, not among the layers placement weighs (${layers.length ? layers.join(', ') : 'none'})`);
  }
  const float = new Map(names.map((n) => [byName.get(n)!, 'float by floatLayers (a placement decision replayed, not timed)']));
  const all = builder.layers.every((n) => float.has(n)) && builder.layers.length > 0;
  const variant = all ? floatVariant(floatModel, initial, float) : float.size ? await builder.build(float) : initial;
  const report: PlacementReport = { target, batches: [], plannedSpeedup: [], finalSpeedup: [], keptFloat: [...names], comparisons: [], replayed: true };
  return { variant, floatLayers: float, report };
}

/** The same builder with the layers of `float` (as it is now) always in float, and not offered as layers. */
export function withFloat(builder: VariantBuilder, float: ReadonlyMap<Node, string>): VariantBuilder {
  if (float.size === 0) return builder;
  const fixed = new Map(float);
  return {
    layers: builder.layers.filter((n) => !fixed.has(n)),
    build: (extra) => builder.build(new Map([...fixed, ...extra])),
  };
}

export const PLACEMENT_THREADS = 1;

/**
 * The default CompareFn. Timing for placement: interleaved in the process's shared child
 * (crash-isolated; a fresh child's start would add about 1 s to each of a dozen comparisons),
 * the fastest-call ratio over 5 rounds; 30 runs and 0.15 s per model and batch size at least;
 * random inputs sized by `feeds`. Each model is encoded once: the float model is one side of
 * many comparisons, a variant of several.
 */
function measuredCompare(feeds: PlacementFeeds, files: ModelFiles): CompareFn {
  const encoded = new WeakMap<Model, Uint8Array>();
  // A large model goes to the child as a file: as bytes it would be copied into the message as well (3 GB resident for the 1 GiB model).
  const source = async (m: Model) => (tensorBytes(m) >= LARGE_MODEL_BYTES ? files.path(m) : (encoded.get(m) ?? encoded.set(m, modelToBytes(m)).get(m)!));
  return async (a, b, batches) => {
    const out: RoundRatio[] = [];
    const models = [await source(a), await source(b)];
    for (const batch of batches) {
      // One warm-up run: a batch of a large model can take seconds, and the fastest-call ratio ignores a slow first call.
      const c = await compareModels(models, { batch, batch1: false, threads: PLACEMENT_THREADS, runIn: 'shared child', minRuns: 30, minSeconds: 0.15, maxSeconds: 2, warmup: 1, ...feeds });
      out.push(c.batchN[0]!.fastest);
    }
    return out;
  };
}

/** The options that give this decision again without timing (target size when every planned layer stayed int8). */
export const replayOptions = (keptFloat: readonly string[]) => (keptFloat.length ? `floatLayers=${keptFloat.join(',')}` : 'target=size');

/** One line per comparison: the record behind the decision, for the report. */
export function describeComparisons(r: PlacementReport): string {
  const cell = (g: RoundRatio) => `${g.ratio.toFixed(2)} (${g.lo.toFixed(2)}–${g.hi.toFixed(2)})`;
  const rows = r.comparisons.map((c) => `${c.trial}${c.float === undefined ? '' : c.float ? ' → float' : ''}: ${c.ratios.map(cell).join(' / ')}`);
  return `placement timings (each trial's speed-up over what it is compared with; fastest call per round, median (min–max) of 5 rounds; batch ${r.batches.join(' / ')}): ${rows.join('; ')}`;
}

/**
 * Placement as the quantizer runs it: replayed from `floatLayers` when given, else A/B
 * comparisons in onnxruntime unless `compare` is given; the outcome stated in notes. A model
 * onnxruntime cannot be fed random inputs for (a free dim beyond the batch) keeps every
 * planned layer, with a note saying so.
 */
export async function placeLayers(
  args: Omit<PlacementArgs, 'compare' | 'setting'> & PlacementFeeds & { compare?: CompareFn; replay?: readonly string[] },
  note: (message: string) => void,
): Promise<Placed | undefined> {
  const { target, batches } = args;
  if (args.replay) {
    const placed = await replayPlacement(args.floatModel, args.builder, args.initial, target, args.replay);
    note(`placement (target ${target}) replayed from floatLayers, nothing timed: in float ${placed.report.keptFloat.join(', ') || 'none'}`);
    return placed;
  }
  const setting = `${PLACEMENT_THREADS} thread, interleaved with the alternative`;
  let placed: Placed;
  const files = new ModelFiles();
  try {
    placed = await placeForSpeed({ ...args, compare: args.compare ?? measuredCompare({ shapes: args.shapes, values: args.values }, files), setting });
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    note(`placement (target ${target}) not measured, every planned layer stays int8: ${err.message}`);
    return undefined;
  } finally {
    files.close();
  }
  const r = placed.report;
  const speedups = (v: number[]) => v.map((x, i) => `${times(x)} at batch ${batches[i]}`).join(', ');
  note(
    `placement (target ${target}; onnxruntime, ${PLACEMENT_THREADS} thread): every planned layer in int8 ran ${speedups(r.plannedSpeedup)} fp32, ` +
      `the result ${speedups(r.finalSpeedup)} (${r.comparisons.length} A/B comparisons)` +
      (r.keptFloat.length ? `; in float for speed: ${r.keptFloat.join(', ')}` : ''),
  );
  if (r.untimed?.length) {
    note(
      `placement: the time budget (placementSeconds) ran out after ${r.comparisons.length} comparisons; ${r.untimed.length} of ${args.builder.layers.length} layers ` +
        `were not tried and stay int8 untimed: ${r.untimed.join(', ')}`,
    );
  }
  note(describeComparisons(r));
  return placed;
}

/** The batch sizes placement times (the `placementBatches` option), checked. */
export function placementBatches(o: Pick<QuantizeOptions, 'placementBatches'>): number[] {
  const batches = o.placementBatches.map(Number);
  if (batches.length === 0 || !batches.every((b) => Number.isInteger(b) && b >= 1)) throw new InputError(`quantize: placementBatches must be positive whole numbers, got '${o.placementBatches.join(',')}'`);
  return batches;
}

/** Placement after fallback adds to the first one's decision: both rounds' layers and comparisons, the last speed-ups. */
export function mergePlacements(before: PlacementReport | undefined, now: PlacementReport): PlacementReport {
  if (!before) return now;
  const untimed = now.untimed ?? before.untimed;
  return { ...now, keptFloat: [...before.keptFloat, ...now.keptFloat], comparisons: [...before.comparisons, ...now.comparisons], plannedSpeedup: before.plannedSpeedup, ...(untimed && { untimed }) };
}
