/**
 * Latency-driven placement of static int8 layers. Whether a layer is faster in int8 depends
 * on what onnxruntime makes of the QDQ graph: its fusions, its QDQ propagation (a
 * QuantizeLinear moved above a MaxPool runs that pool on uint8 in a slow NCHW kernel: lenet5's
 * pool1 446 µs vs 35 µs float at batch 32, per its profile), and its kernels (MLAS's int8
 * convolution loses on shallow inputs). So variants are built and timed against each other in
 * onnxruntime (src/runtime/speed.ts) rather than predicted: each layer, in graph order, goes
 * back to float when that makes the whole model faster.
 *   balanced: when the model runs at least 3 % faster with it in float (what an A/B comparison
 *             resolves); a result still more than 3 % slower than fp32 gives the float model.
 *   speed:    on any measured gain above 1 %; a result not faster than fp32 gives the float model.
 */
import { InputError } from '../../errors.ts';
import type { Model } from '../../ir/model.ts';
import type { Node } from '../../ir/node.ts';
import { compareSpeed } from '../../runtime/speed.ts';
import type { Variant, VariantBuilder } from './variants.ts';

export type PlacementTarget = 'speed' | 'balanced';

/** How many times faster `b` runs than `a` in onnxruntime, time(a) / time(b): the median and range over rounds. */
export type CompareFn = (a: Model, b: Model) => Promise<{ ratio: number; lo: number; hi: number }>;

export interface PlacementReport {
  target: PlacementTarget;
  /** Speed-up over fp32 (fp32 time / int8 time) with every planned layer in int8. */
  plannedSpeedup: number;
  /** Speed-up over fp32 of the result (1 when it is the float model). */
  finalSpeedup: number;
  /** Layers returned to float for speed, in the order they were. */
  keptFloat: string[];
  /** A/B comparisons run. */
  comparisons: number;
}

export interface PlacementArgs {
  floatModel: Model;
  builder: VariantBuilder;
  /** The variant `builder` makes with nothing extra in float, already built. */
  initial: Variant;
  target: PlacementTarget;
  compare: CompareFn;
  /** How speed was measured, for the reasons given (e.g. "batch 32, 1 thread"). */
  setting: string;
  progress?: (fraction: number, label?: string) => void;
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

const label = (n: Node) => n.name || n.label;
const times = (v: number) => `${v.toFixed(2)}×`;

export async function placeForSpeed(a: PlacementArgs): Promise<{ variant: Variant; floatLayers: Map<Node, string>; report: PlacementReport }> {
  const vsFloat = (m: Model) => a.compare(a.floatModel, m);
  const first = await vsFloat(a.initial.model);
  const planned = first.ratio;
  /** Layers this placement returns to float. */
  const placed = new Map<Node, string>();
  const report: PlacementReport = { target: a.target, plannedSpeedup: planned, finalSpeedup: planned, keptFloat: [], comparisons: 1 };
  let final = first;
  let variant = a.initial;
  const candidates = a.builder.layers;
  const minGain = 1 + (a.target === 'speed' ? SPEED_GAIN : RESOLUTION);
  for (const [i, layer] of candidates.entries()) {
    a.progress?.(i / candidates.length, `placement: ${label(layer)}`);
    const trial = await a.builder.build(new Map([...placed, [layer, '']]));
    const gain = await a.compare(variant.model, trial.model);
    report.comparisons++;
    if (gain.ratio < minGain || gain.lo <= 1) continue;
    placed.set(layer, `faster in float in onnxruntime: the model ran ${times(gain.ratio)} as fast with it in float (${a.setting})`);
    report.keptFloat.push(label(layer));
    variant = trial;
  }
  if (placed.size) {
    final = await vsFloat(variant.model);
    report.finalSpeedup = final.ratio;
    report.comparisons++;
  }
  const keep = a.target === 'balanced' ? 1 - RESOLUTION : 1;
  if (final.ratio < keep && final.hi < 1 && candidates.length) {
    // int8 as placed is slower than fp32 (speed: not faster): the float model it is, without
    // even int8-stored constants, whose DequantizeLinear nodes cost time as well.
    const why = `no int8 placement tried ran ${a.target === 'balanced' ? 'as fast as' : 'faster than'} fp32 in onnxruntime (best ${times(report.finalSpeedup)} fp32, ${a.setting})`;
    for (const layer of candidates) {
      if (placed.has(layer)) continue;
      placed.set(layer, why);
      report.keptFloat.push(label(layer));
    }
    variant = { model: a.floatModel.clone(), quantized: [], skipped: new Map([...a.initial.skipped, ...placed]), probes: [], weights: 0 };
    report.finalSpeedup = 1;
  }
  return { variant, floatLayers: placed, report };
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

/** "Never slower" is judged where int8 pays off or not: a batch of 32 on one thread. */
export const PLACEMENT_BATCH = 32;
export const PLACEMENT_THREADS = 1;

const measuredCompare: CompareFn = (a, b) => compareSpeed(a, b, { batch: PLACEMENT_BATCH, threads: PLACEMENT_THREADS });

/**
 * Placement as the quantizer runs it: A/B comparisons in onnxruntime unless `compare` is given,
 * the outcome stated in a note. A model onnxruntime cannot be fed random inputs for (a free
 * dim beyond the batch) keeps every planned layer, with a note saying so.
 */
export async function placeLayers(
  floatModel: Model,
  builder: VariantBuilder,
  initial: Variant,
  target: PlacementTarget,
  compare: CompareFn | undefined,
  note: (message: string) => void,
  progress?: (fraction: number, label?: string) => void,
): Promise<{ variant: Variant; floatLayers: Map<Node, string>; report: PlacementReport } | undefined> {
  const setting = `batch ${PLACEMENT_BATCH}, ${PLACEMENT_THREADS} thread, interleaved with the alternative`;
  let placed: Awaited<ReturnType<typeof placeForSpeed>>;
  try {
    placed = await placeForSpeed({ floatModel, builder, initial, target, compare: compare ?? measuredCompare, setting, progress });
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    note(`placement (target ${target}) not measured, every planned layer stays int8: ${err.message}`);
    return undefined;
  }
  const r = placed.report;
  note(
    `placement (target ${target}; onnxruntime, batch ${PLACEMENT_BATCH}, ${PLACEMENT_THREADS} thread): every planned layer in int8 ran ${times(r.plannedSpeedup)} fp32, ` +
      `the result ${times(r.finalSpeedup)} (${r.comparisons} A/B comparisons)` +
      (r.keptFloat.length ? `; in float for speed: ${r.keptFloat.join(', ')}` : ''),
  );
  return placed;
}
