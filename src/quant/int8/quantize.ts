/**
 * int8 quantization of a model, in place: analysis, calibration, emission (QDQ, QOperator
 * or dynamic), optional accuracy-driven fallback and per-layer diagnostics, and a runtime
 * check in onnxruntime before anything is changed. The `quantize` pass and the CLI
 * call this; it never prints or exits.
 */
import { CheckError, InputError } from '../../errors.ts';
import type { Model } from '../../ir/model.ts';
import { nodeName, type Node } from '../../ir/node.ts';
import { constantValues, inferShapes } from '../../ops/infer.ts';
import { opSpec, quantizedNodes } from '../../ops/registry.ts';
import { ActivationStats } from '../calibration/activation-stats.ts';
import { validateOptions } from '../../pipeline/options.ts';
import { QUANTIZE_OPTIONS } from './options.ts';
import { runtimeCheck, STRUCTURE_CHECK_NOTE } from '../../runtime/check.ts';
import { compareLayers, formatLayerErrors } from './debug.ts';
import { commitModel } from './emit.ts';
import { fallbackToBudget } from './fallback.ts';
import { mergePlacements, placeLayers, placementBatches, replayOptions, withFloat } from './placement.ts';
import { describePreparation, prepareForQuantization } from './prepare.ts';
import { compareWithReference, referenceOutputs, sourceName, worstSqnr, type Reference } from '../../evaluate/quality.ts';
import { firstLine } from '../../runtime/ort.ts';
import type { DeferredWeight } from './dynamic-weight.ts';
import { modelToBytes } from '../../io/save.ts';
import { DEFAULT_OP_TYPES, SUPPORTED_OP_TYPES } from './ops.ts';
import { ioLayers, type GraphFacts, type Selection } from './plan.ts';
import { withShallowConvs } from './shallow-convs.ts';
import type { InputSource } from '../calibration/run.ts';
import { QUANTIZE_DEFAULTS, type QuantizeInputs, type QuantizeOptions, type QuantizeResult } from './types.ts';
import { demoted, dynamicBuilder, staticBuilder, type DynamicRung, type Variant, type VariantBuilder } from './variants.ts';
import { bodyFacts, quantizeBodies, type BodyCalibration } from './subgraphs.ts';
import { withBodyLayers } from './body-layers.ts';
import { movedNames, undoUnneeded, weightOnlyRung } from './ladder.ts';
import { constantsToInitializers } from '../../transforms/constants-to-initializers.ts';
import { dedupeInitializers } from '../../transforms/dedupe-initializers.ts';
import { dropUnusedWeights } from '../../transforms/drop-unused-weights.ts';
import { sinkInitializers } from '../../transforms/sink-initializers.ts';
import { upgradeForFormat as upgradeOpsetFor } from '../../transforms/upgrade-opset.ts';

export function analyzeGraph(model: Model): GraphFacts {
  const graph = model.graph;
  return { graph, types: inferShapes(model), consts: constantValues(graph), index: graph.index() };
}

function validate(model: Model, o: QuantizeOptions): void {
  const bad = (msg: string) => new InputError(`quantize: ${msg}`);
  const schemaValues = Object.fromEntries(Object.keys(QUANTIZE_OPTIONS).map((k) => [k, o[k as keyof QuantizeOptions]]));
  validateOptions('quantize', QUANTIZE_OPTIONS, schemaValues);
  if (o.maxAccuracyDrop !== undefined && !(o.maxAccuracyDrop >= 0)) throw bad(`maxAccuracyDrop must be ≥ 0 percentage points, got ${o.maxAccuracyDrop}`);
  const unknown = o.opTypes.filter((t) => !SUPPORTED_OP_TYPES.includes(t));
  if (unknown.length) throw bad(`cannot quantize op type(s) ${unknown.join(', ')} (supported: ${SUPPORTED_OP_TYPES.join(', ')})`);
  const q = quantizedNodes(model)[0];
  if (q) throw bad(`the model is already quantized (node ${q.label}); it is not quantized twice`);
}

/**
 * The opset the int8 format needs: per-axis DequantizeLinear (per-channel QDQ, and dynamic
 * weight-only scales) from 13, DynamicQuantizeLinear from 11, QuantizeLinear from 10. An older
 * model is upgraded first (src/transforms/upgrade-opset.ts); the note says so.
 */
function upgradeForFormat(model: Model, o: QuantizeOptions): string | undefined {
  const [need, purpose] =
    o.perChannel && (o.format === 'qdq' || o.mode === 'dynamic') ? [13, 'per-channel int8'] : o.mode === 'dynamic' ? [11, 'dynamic int8'] : [10, 'static int8'];
  return upgradeOpsetFor(model, need, `quantize: ${o.mode} int8`, purpose);
}

function selection(model: Model, facts: GraphFacts, o: QuantizeOptions): Selection {
  const byName = new Map([...model.graph.walk()].flatMap((g) => g.nodes).filter((n) => n.name).map((n) => [n.name, n]));
  const find = (name: string, what: string) => {
    const n = byName.get(name);
    if (!n) throw new InputError(`quantize: ${what} names node '${name}', which is not in the model`);
    return n;
  };
  const float = new Map<Node, string>();
  const force = new Set<Node>();
  for (const name of o.excludeNodes) float.set(find(name, 'excludeNodes'), 'excluded by excludeNodes');
  for (const [name, precision] of Object.entries(o.recipe?.layers ?? {})) {
    const n = find(name, 'the recipe');
    if (precision === 'float') float.set(n, 'float in the recipe');
    else if (precision === 'int8') force.add(n);
    else throw new InputError(`quantize: the recipe gives node '${name}' precision '${String(precision)}' (int8 part: float or int8)`);
  }
  if (o.keepIoFloat) for (const n of ioLayers(facts)) if (!force.has(n)) float.set(n, 'first or last layer (keepIoFloat)');
  return { opTypes: new Set(o.opTypes.length ? o.opTypes : DEFAULT_OP_TYPES), float, force, format: o.format, perChannel: o.perChannel };
}


export async function quantizeModel(model: Model, options: Partial<QuantizeOptions> = {}, inputs: QuantizeInputs = {}): Promise<QuantizeResult> {
  const o: QuantizeOptions = { ...QUANTIZE_DEFAULTS, ...options };
  validate(model, o);
  // One form for every weight: Constant nodes become initializers, and a weight only one body
  // reads moves into it, so each graph's plan finds its weights as constants of its own.
  constantsToInitializers(model.graph);
  sinkInitializers(model.graph);
  const notes: string[] = [];
  const upgrade = upgradeForFormat(model, o);
  if (upgrade) notes.push(upgrade);
  const note = (m: string) => {
    notes.push(m);
    inputs.note?.(m);
  };
  const progress = (f: number, l?: string) => inputs.progress?.(Math.min(1, Math.max(0, f)), l);
  const preparation = o.prepare ? await prepareForQuantization(model) : undefined;
  if (preparation) notes.push(describePreparation(preparation));
  const facts = analyzeGraph(model);
  const sel = withShallowConvs(facts, selection(model, facts, o), o.mode, o.minConvInputChannels);
  // Read before anything quantizes them: variants share the float bodies until the end.
  const bodies = bodyFacts(model, facts);
  const bodyNodes = new Set(bodies.flatMap((f) => f.graph.nodes));
  for (const n of notes) inputs.note?.(n);

  const calib: InputSource | undefined = inputs.calibration ? { dataset: inputs.calibration, limit: o.calibSamples, batchSize: o.calibBatch } : undefined;
  const probeSource = (samples: number): InputSource =>
    inputs.calibration
      ? { dataset: inputs.calibration, limit: Math.min(samples, o.calibSamples), batchSize: o.calibBatch }
      : { random: true, batches: 4, values: inputs.inputValues, ...(inputs.shapes && { shapes: inputs.shapes }) };
  // SQNR fallback's data: the calibration data, else what the caller's quality gate judges on.
  const calibSteering = calib && probeSource(o.sensitivitySamples);
  const steering: InputSource | undefined = calibSteering ?? (inputs.judgedOn && capped(inputs.judgedOn, o.sensitivitySamples));
  const weightCache = new Map<string, DeferredWeight>();

  let builder: VariantBuilder;
  let stats: ActivationStats | undefined;
  const result: QuantizeResult = {
    mode: o.mode,
    format: o.mode === 'dynamic' ? 'dynamic' : o.format,
    activationType: o.mode === 'dynamic' ? 'uint8' : o.activationType,
    quantized: [],
    keptFloat: [],
    weights: 0,
    notes,
    ...(preparation && { preparation }),
  };
  if (o.mode === 'static') {
    if (!calib) throw new InputError('quantize: static quantization needs calibration data (calib: an .npz, .npy or folder)');
    stats = new ActivationStats(o.bins);
    builder = staticBuilder(model, facts, sel, o, stats, calib);
    progress(0.05, 'calibration');
    const started = performance.now();
    // Collect every tensor the full plan needs in one pass over the data.
    const first = await builder.build(new Map());
    result.calibration = {
      method: o.calibration,
      samples: stats.samples,
      tensors: stats.histograms.size,
      histogramBytes: stats.stateBytes,
      seconds: (performance.now() - started) / 1000,
    };
    return finish(first);
  }
  builder = dynamicBuilder(model, facts, sel, o, 'float', weightCache);
  return finish(await builder.build(new Map()));

  /**
   * The variant with every If/Loop/Scan body quantized too (see subgraphs.ts), the body layers
   * in `float` (fallback's choices) kept float; a fallback variant has its bodies done already.
   */
  async function withBodies(v: Variant, float: ReadonlyMap<Node, string>): Promise<Variant> {
    if (bodies.length === 0) return v;
    progress(0.87, 'subgraphs');
    const done = 'bodiesQuantized' in v ? v : await quantizeBodiesOf(v, float);
    // A weight several bodies read got an int8 copy in each: the float original goes, and the
    // identical copies of sibling bodies merge into one in the graph around them.
    dropUnusedWeights(done.model, bodies.flatMap((f) => [...f.consts.keys()]));
    const inBodies = done.quantized.filter((n) => bodyNodes.has(n)).length;
    if (inBodies) dedupeInitializers(done.model.graph);
    if (inBodies) note(`${inBodies} node(s) inside If/Loop/Scan bodies quantized`);
    return done;
  }

  async function quantizeBodiesOf(v: Variant, float: ReadonlyMap<Node, string>): Promise<Variant> {
    const b = await quantizeBodies(v.model, bodies, { ...sel, float: new Map([...sel.float, ...float]) }, o, bodyCalibration());
    return { ...v, quantized: [...v.quantized, ...b.quantized], skipped: new Map([...v.skipped, ...b.skipped]), weights: v.weights + b.weights };
  }

  function bodyCalibration(): BodyCalibration | undefined {
    return stats && calib ? { stats, source: calib, floatModel: model } : undefined;
  }

  /**
   * What fallback returns to float (or, dynamic, moves down to `rung`): the main graph's layers
   * and every body's. `from`: the selection the rung starts at (dynamic: with the layers an
   * earlier rung moved to weight-only).
   */
  function rungBuilder(extraFloat: ReadonlyMap<Node, string>, rung?: DynamicRung, from: Selection = sel): VariantBuilder {
    const main = withFloat(rung ? dynamicBuilder(model, facts, from, o, rung, weightCache) : builder, extraFloat);
    if (bodies.length === 0) return main;
    return withBodyLayers(main, model, bodies, { ...from, float: new Map([...from.float, ...extraFloat]) }, o, bodyCalibration(), rung);
  }

  /** The builder fallback works with, and the variant it starts from (`variant`, with its bodies quantized). */
  async function fallbackStart(variant: Variant, extraFloat: ReadonlyMap<Node, string>, rung?: DynamicRung, from: Selection = sel): Promise<{ builder: VariantBuilder; initial: Variant }> {
    const b = rungBuilder(extraFloat, rung, from);
    return { builder: b, initial: bodies.length === 0 || 'bodiesQuantized' in variant ? variant : await b.build(new Map()) };
  }

  /**
   * No labels: the quality gate's signal (worst output SQNR against float on `source`) steers
   * fallback. Static: layers return to float, most sensitive first. Dynamic: down the precision
   * ladder — layers running as integer ops (run-time per-tensor activations) move to weight-only
   * int8 first, and only if that cannot meet the floor does any layer go to float.
   */
  async function steerBySqnr(start: Variant, source: InputSource, extraFloat: ReadonlyMap<Node, string>): Promise<{ variant: Variant; floatLayers: Map<Node, string> }> {
    progress(0.3, 'quality');
    let ref: Reference;
    try {
      ref = await referenceOutputs(model, source);
    } catch (err) {
      // Data the caller's gate judges on (or random inputs it could not size): the gate says so too.
      if (!(err instanceof InputError) || source === calibSteering) throw err;
      note(`quality: SQNR fallback not run: ${firstLine(err.message)}`);
      return { variant: start, floatLayers: new Map() };
    }
    const steered = `steered by ${ref.samples} ${'random' in source ? 'random inputs' : `samples of ${sourceName(source)}`}${source === calibSteering ? '' : ', the data the quality gate judges'}`;
    const evaluate = async (bytes: Uint8Array) => worstSqnr(await compareWithReference(ref, bytes, 'the int8 model'));
    const round = (from: { builder: VariantBuilder; initial: Variant }, span: [number, number], rung?: string, initialScore?: number) =>
      fallbackToBudget({ floatModel: model, ...from, evaluate, initialScore, budget: o.minSqnr, metric: 'sqnr', source, rung, sensitivity: o.sensitivity, progress: (f, l) => progress(span[0] + (span[1] - span[0]) * f, l), note });
    const summary: string[] = [];
    let allInt8: number | undefined;
    const say = () => note(`quality: worst output SQNR against float ${summary.join(', ')} (floor ${o.minSqnr} dB, ${steered})`);
    let variant = start;
    let from = sel;
    if (o.mode === 'dynamic') {
      const ladder = await fallbackStart(start, extraFloat, 'weight-only');
      const r = await weightOnlyRung(ladder, evaluate, o.minSqnr, (score) => round(ladder, [0.3, 0.55], 'weight-only int8', score), note);
      allInt8 = r.allInt8;
      summary.push(`${r.allInt8.toFixed(1)} dB all-int8`);
      variant = r.variant;
      if (r.moved) {
        result.toWeightOnly = r.moved.report;
        summary.push(`${r.moved.report.finalAccuracy.toFixed(1)} dB with ${movedNames(r.moved.report, ladder.builder.layers.length)} weight-only int8`);
        from = demoted(sel, r.moved.floatLayers, 'weight-only');
      }
      if (r.met) {
        say();
        return { variant, floatLayers: new Map() };
      }
    }
    const rung = await fallbackStart(variant, extraFloat, o.mode === 'dynamic' ? 'float' : undefined, from);
    // The ladder measured the variant the float round starts from (unless bodies rebuilt it).
    const known = rung.initial === variant ? (result.toWeightOnly?.finalAccuracy ?? allInt8) : undefined;
    let fb: Awaited<ReturnType<typeof round>>;
    try {
      fb = await round(rung, [0.55, 0.8], undefined, known);
    } catch (err) {
      // The floor is out of reach even in float but for one layer: say what the ladder tried first.
      if (err instanceof CheckError && summary.length > 1) err.message = `worst output SQNR against float ${summary.join(', ')}; then ${err.message}`;
      throw err;
    }
    if (summary.length === 0) summary.push(`${fb.report.quantizedAccuracy.toFixed(1)} dB all-int8`);
    let floatLayers = fb.floatLayers;
    variant = fb.variant;
    if (o.mode === 'dynamic' && floatLayers.size > 1) {
      const kept = await undoUnneeded(rung.builder, fb, evaluate, o.minSqnr, note);
      ({ variant, floatLayers } = kept);
      const names = new Set([...floatLayers.keys()].map(nodeName));
      fb.report.keptFloat = fb.report.keptFloat.filter((name) => names.has(name));
      fb.report.finalAccuracy = kept.sqnr;
      fb.report.finalDrop = o.minSqnr - kept.sqnr;
    }
    if (o.mode === 'dynamic' && result.toWeightOnly) {
      // The weight-only rung was taken whole; with the float layers it fell short for, the
      // integer ops (faster) may hold the floor again: one try, all of them at once.
      const integer = await rungBuilder(extraFloat, 'float').build(floatLayers);
      const sqnr = await evaluate(modelToBytes(integer.model));
      if (sqnr >= o.minSqnr) {
        note(`fallback: the ${result.toWeightOnly.keptFloat.length} weight-only layers back to integer ops: with ${fb.report.keptFloat.join(', ')} in float the floor holds (SQNR ${fb.report.finalAccuracy.toFixed(1)} → ${sqnr.toFixed(1)} dB)`);
        variant = integer;
        fb.report.finalAccuracy = sqnr;
        fb.report.finalDrop = o.minSqnr - sqnr;
        result.toWeightOnly = undefined;
        // The float round started from all-weight-only; the result now starts from all-int8.
        if (allInt8 !== undefined) fb.report.quantizedAccuracy = fb.report.steps[0]!.accuracy = allInt8;
        summary.splice(1);
      }
    }
    if (fb.report.keptFloat.length) {
      result.fallback = fb.report;
      summary.push(`${fb.report.finalAccuracy.toFixed(1)} dB with ${fb.report.keptFloat.join(', ')} in float`);
    }
    say();
    return { variant, floatLayers };
  }

  async function finish(initial: Variant): Promise<QuantizeResult> {
    let variant = initial;
    const extraFloat = new Map<Node, string>();
    const replay = o.floatLayers.length ? o.floatLayers : undefined;
    let deadline: number | undefined;
    const placeAfter = async (from: Variant, at: number): Promise<Variant> => {
      if (o.mode !== 'static' || o.target === 'size') return from;
      // A replayed decision is whole at the first placement: nothing is timed after fallback.
      if (replay && result.placement) return from;
      // Past the budget (placementSeconds) placement still times the result against fp32 once: int8 slower than float never passes untimed.
      deadline ??= performance.now() + o.placementSeconds * 1000;
      progress(at, 'placement');
      const builderNow = withFloat(builder, extraFloat);
      const placed = await placeLayers(
        {
          floatModel: model, builder: builderNow, initial: from, target: o.target, batches: placementBatches(o), compare: inputs.compare, shapes: inputs.shapes, values: inputs.inputValues, replay, deadline,
          progress: (f, l) => progress(at + 0.15 * f, l),
        },
        note,
      );
      if (!placed) return from;
      result.placement = mergePlacements(result.placement, placed.report);
      for (const [n, why] of placed.floatLayers) extraFloat.set(n, why);
      return placed.variant;
    };
    // Refused before placement spends seconds timing.
    if (o.maxAccuracyDrop !== undefined && !inputs.evaluate) throw new InputError('quantize: maxAccuracyDrop needs an evaluation data set (evalData)');
    variant = await placeAfter(variant, 0.2);
    if (o.maxAccuracyDrop !== undefined && inputs.evaluate) {
      progress(0.35, 'fallback');
      const fb = await fallbackToBudget({
        floatModel: model,
        ...(await fallbackStart(variant, extraFloat)),
        evaluate: inputs.evaluate,
        budget: o.maxAccuracyDrop,
        source: probeSource(o.sensitivitySamples),
        sensitivity: o.sensitivity,
        progress: (f, l) => progress(0.35 + 0.35 * f, l),
        note,
      });
      variant = fb.variant;
      result.fallback = fb.report;
      for (const [n, why] of fb.floatLayers) extraFloat.set(n, why);
      note(
        `fallback: accuracy float ${(fb.report.floatAccuracy * 100).toFixed(2)} %, all-int8 ${(fb.report.quantizedAccuracy * 100).toFixed(2)} %, ` +
          `final ${(fb.report.finalAccuracy * 100).toFixed(2)} % (drop ${fb.report.finalDrop.toFixed(2)} pt, budget ${o.maxAccuracyDrop} pt)` +
          (fb.report.keptFloat.length ? `; in float: ${fb.report.keptFloat.join(', ')}` : ''),
      );
      // A layer back in float can leave its neighbours slower in int8 than in float: place again.
      if (fb.floatLayers.size) variant = await placeAfter(variant, 0.7);
    } else if (o.minSqnr > 0 && steering) {
      const fb = await steerBySqnr(variant, steering, extraFloat);
      variant = fb.variant;
      for (const [n, why] of fb.floatLayers) extraFloat.set(n, why);
      if (fb.floatLayers.size) variant = await placeAfter(variant, 0.7);
    }
    if (result.placement && !result.placement.replayed) note(`placement decision, to replay it without timing (byte-identical output on any machine): ${replayOptions(result.placement.keptFloat)}`);
    if (o.debugLayers) {
      progress(0.85, 'per-layer comparison');
      result.layers = await compareLayers(model, variant, probeSource(o.debugSamples));
      for (const line of formatLayerErrors(result.layers)) note(`debug: ${line}`);
    }
    variant = await withBodies(variant, extraFloat);
    progress(0.9, 'runtime check');
    const what = `the ${o.mode === 'dynamic' ? 'dynamic' : o.format} int8 model`;
    const hint = 'keep the node in float (excludeNodes) or use the qdq format';
    result.runtimeCheck = inputs.outputRunByCaller ? 'by the caller' : await runtimeCheck(variant.model, what, o.runtimeCheck, { hint, note, given: { shapes: inputs.shapes, values: inputs.inputValues } });
    if (result.runtimeCheck === 'structure') note(STRUCTURE_CHECK_NOTE);
    result.quantized = variant.quantized.map(nodeName);
    result.keptFloat = [...variant.skipped].map(([n, reason]) => ({ node: nodeName(n), opType: n.opType, reason: extraFloat.get(n) ?? reason }));
    const requantized = requantizedByOrt(variant.model);
    if (requantized.length) {
      note(
        `onnxruntime (1.20+) will still run ${requantized.join(', ')} with per-tensor int8 weights: a float Conv/Gemm whose input is dequantized is ` +
          `requantized at load (its WeightBiasQuantization rewrite; session option optimization.disable_specified_optimizers=WeightBiasQuantization keeps it float)`,
      );
    }
    result.weights = variant.weights;
    if (variant.quantized.length === 0) note('no node was quantized');
    const convs = variant.model.graph.nodes.filter((n) => n.opType === 'ConvInteger').length;
    if (o.mode === 'dynamic' && convs > 0) {
      note(`${convs} Conv(s) run as ConvInteger: 4× smaller weights, but onnxruntime runs them at about 0.8× the speed of float (measured: docs/passes/quantize.md); static int8 makes convs faster`);
    }
    commitModel(model, variant.model);
    progress(1);
    return result;
  }
}

/** A data set source cut to `samples`; random inputs as they are. */
function capped(source: InputSource, samples: number): InputSource {
  return 'random' in source ? source : { ...source, limit: Math.min(source.limit, samples) };
}

/**
 * Float Conv/ConvTranspose/Gemm layers onnxruntime quantizes by itself when it loads the
 * model (its WeightBiasQuantization rewrite; the op table's `ortQuantizesWeight`): a float32 initializer weight, an input from a
 * DequantizeLinear with one scale and, as observed with 1.30, a QuantizeLinear reading the
 * result. Measured accuracy already includes it (it is measured in onnxruntime); the note
 * keeps "kept in float" from misleading.
 */
function requantizedByOrt(m: Model): string[] {
  const g = m.graph;
  const { producer, consumers } = g.index();
  const found: string[] = [];
  for (const n of g.nodes) {
    if (!opSpec(n)?.ortQuantizesWeight) continue;
    const dq = producer.get(n.inputs[0] ?? '');
    const scale = dq?.opType === 'DequantizeLinear' ? g.initializers.get(dq.inputs[1] ?? '') : undefined;
    const quantizedAfter = (consumers.get(n.outputs[0] ?? '') ?? []).some((c) => c.opType === 'QuantizeLinear');
    if (scale?.size === 1 && quantizedAfter && g.initializers.get(n.inputs[1] ?? '')?.dtype === 'float32') found.push(nodeName(n));
  }
  return found;
}
