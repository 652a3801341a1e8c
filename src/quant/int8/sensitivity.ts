/**
 * How much each quantized layer costs in accuracy, to rank what fallback returns to float.
 *
 * 'alone' (one run per layer, with only that layer quantized, compared at the model's
 * outputs): what each layer does to the result, downstream amplification included, at the
 * cost of a whole-model build and run per layer — over 6 minutes for ppocrv4-det's 78 layers.
 *
 * 'added' (one run of the float model and one of the all-int8 variant, every layer's output
 * fetched, as onnxruntime's qdq_loss_debug does): a layer's error is its output's
 * noise-to-signal ratio against float minus the worst ratio among the values it reads — the
 * error it adds rather than the error it was handed. Two model runs whatever the depth, but
 * blind to how much the rest of the network amplifies that error: on dscnn (floor 30 dB) it
 * ranks the last layers first and fallback needs 6 layers in float where 'alone' needs 1.
 *
 * So 'auto' ranks alone while that costs at most ALONE_MAX_SECONDS (extrapolated from the
 * reference run and the first layer's), and by added error beyond — and always alone when some
 * layer has no probe ('added' cannot see inside If/Loop/Scan bodies).
 */
import type { SensitivityMethod } from './options.ts';
import { InputError } from '../../errors.ts';
import { sqnrDb } from '../../math/sqnr.ts';
import type { Graph } from '../../ir/graph.ts';
import type { Model } from '../../ir/model.ts';
import { nodeName, type Node } from '../../ir/node.ts';
import { forEachBatch, openRunner, type InputSource } from '../calibration/run.ts';
import { compareLayers } from './debug.ts';
import type { Sensitivity } from './types.ts';
import type { Variant, VariantBuilder } from './variants.ts';

export type RankedLayer = Sensitivity & { layer: Node };

/** 'auto' ranks alone while the whole ranking is expected to take at most this long (the fixtures: 1–4 s). */
export const ALONE_MAX_SECONDS = 30;

const byScore = (a: RankedLayer, b: RankedLayer) => (a.sqnrDb === b.sqnrDb ? 0 : a.sqnrDb - b.sqnrDb);

export interface RankArgs {
  floatModel: Model;
  builder: VariantBuilder;
  /** The all-int8 variant `builder` made. */
  initial: Variant;
  source: InputSource;
  /** 'auto' ranks alone up to this long; default ALONE_MAX_SECONDS. */
  aloneMaxSeconds?: number;
  progress?: (fraction: number, label?: string) => void;
}

/** Every layer of `builder`, most sensitive (lowest sqnrDb) first, by the method the rule above picks. */
export async function rankSensitivity(a: RankArgs, method: SensitivityMethod = 'auto'): Promise<RankedLayer[]> {
  const probed = new Set(a.initial.probes.map((p) => p.node));
  const seesAll = a.builder.layers.every((l) => probed.has(l));
  if (method === 'added' && !seesAll) throw new InputError('quantize: sensitivity=added cannot rank layers inside If/Loop/Scan bodies (no per-layer output there); use auto or alone');
  if (method === 'added') return rankByAddedError(a);
  const alone = await rankAlone(a, method === 'auto' && seesAll ? (a.aloneMaxSeconds ?? ALONE_MAX_SECONDS) : Infinity);
  return alone ?? rankByAddedError(a);
}

/**
 * Output SQNR of the model with each layer quantized alone: one build and run per layer.
 * Undefined, having run the reference and at most one layer, when that would take more than
 * `maxSeconds` (a layer's cost taken as the larger of the reference run's and the first layer's).
 */
export async function rankAlone(a: RankArgs, maxSeconds = Infinity): Promise<RankedLayer[] | undefined> {
  const layers = a.builder.layers;
  const started = performance.now();
  const over = (perLayerMs: number) => (perLayerMs * layers.length) / 1000 > maxSeconds;
  const outputs = a.floatModel.graph.outputs.map((o) => o.name);
  const reference: Array<Map<string, Float32Array>> = [];
  const floatRunner = await openRunner(a.floatModel, 'the float model');
  try {
    await forEachBatch(floatRunner, a.source, outputs, (out) => {
      reference.push(out);
    });
  } finally {
    await floatRunner.close();
  }
  const referenceMs = performance.now() - started;
  if (over(referenceMs)) return undefined;
  const result: RankedLayer[] = [];
  for (const [i, layer] of layers.entries()) {
    if (i === 1 && over(Math.max(referenceMs, performance.now() - started - referenceMs))) return undefined;
    a.progress?.(i / layers.length, `sensitivity ${i}/${layers.length} layers ranked, now ${nodeName(layer)} alone`);
    const others = new Map(layers.filter((l) => l !== layer).map((l) => [l, 'sensitivity probe']));
    const v = await a.builder.build(others);
    const runner = await openRunner(v.model, `the model with only ${nodeName(layer)} quantized`);
    let signal = 0;
    let noise = 0;
    let b = 0;
    try {
      await forEachBatch(runner, a.source, outputs, (out) => {
        const ref = reference[b++]!;
        for (const name of outputs) {
          const r = ref.get(name)!;
          const q = out.get(name)!;
          for (let j = 0; j < r.length; j++) {
            signal += r[j]! * r[j]!;
            noise += (r[j]! - q[j]!) ** 2;
          }
        }
      });
    } finally {
      await runner.close();
    }
    result.push({ layer, node: nodeName(layer), opType: layer.opType, method: 'alone', sqnrDb: sqnrDb(signal, noise) });
  }
  return result.sort(byScore);
}

/** Each layer's added error from one run of the float model and one of the all-int8 variant. */
export async function rankByAddedError(a: RankArgs): Promise<RankedLayer[]> {
  a.progress?.(0, `sensitivity: every layer's output in float and in int8 (${a.initial.probes.length} layers, 2 runs)`);
  // One sample per run: every layer's output of a batch is fetched at once (ppocrv4-det: about 100 MB a sample).
  const source = 'dataset' in a.source ? { ...a.source, batchSize: 1 } : a.source;
  const errors = await compareLayers(a.floatModel, a.initial, source);
  const nsrOf = new Map(errors.map((e) => [e.tensor, 10 ** (-e.sqnrDb / 10)]));
  const received = receivedNsr(a.floatModel.graph, nsrOf);
  const ranked = a.builder.layers.map((layer) => {
    const p = a.initial.probes.find((q) => q.node === layer)!;
    const out = nsrOf.get(p.tensor) ?? 0;
    const added = Math.max(0, out - received(layer));
    return { layer, node: nodeName(layer), opType: layer.opType, method: 'added' as const, sqnrDb: -10 * Math.log10(added), layerSqnrDb: -10 * Math.log10(out) };
  });
  // Layers that add nothing measurable (ppocrv4-det: 38 of 78) tie at +Infinity and keep graph
  // order, earlier first: their error passes through more of the network (det met its floor with
  // 40 layers in float this way, 50 with the noisier layer output first).
  return ranked.sort(byScore);
}

/**
 * The worst noise-to-signal ratio among the values `layer` reads: a probed value's own, else
 * (a value between layers: Relu, Reshape, Concat, pools) the worst of what produced it reads;
 * graph inputs and constants carry none.
 */
function receivedNsr(graph: Graph, nsrOf: ReadonlyMap<string, number>): (layer: Node) => number {
  const { producer } = graph.index();
  const memo = new Map<string, number>();
  const valueNsr = (name: string): number => {
    const known = nsrOf.get(name) ?? memo.get(name);
    if (known !== undefined) return known;
    memo.set(name, 0); // a cycle cannot occur in a valid graph; this only ends the walk
    const p = producer.get(name);
    const v = p ? Math.max(0, ...p.inputs.filter(Boolean).map(valueNsr)) : 0;
    memo.set(name, v);
    return v;
  };
  return (layer) => Math.max(0, ...layer.inputs.filter(Boolean).map(valueNsr));
}
