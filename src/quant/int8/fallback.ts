/**
 * Accuracy-driven fallback. Each layer's sensitivity is measured by quantizing it alone and
 * comparing the model's outputs with float (SQNR on calibration samples); then layers return
 * to float, most sensitive first, until the accuracy drop on the evaluation set is within
 * budget — or, without labels, until the worst output SQNR against float reaches its floor
 * (metric 'sqnr'). A budget that only the float model meets is a failed check.
 */
import { sqnrDb } from '../../math/sqnr.ts';
import { CheckError } from '../../errors.ts';
import type { Model } from '../../ir/model.ts';
import type { Node } from '../../ir/node.ts';
import { modelToBytes } from '../../io/save.ts';
import { forEachBatch, openRunner, type InputSource } from '../calibration/run.ts';
import type { FallbackReport, Sensitivity } from './types.ts';
import type { Variant, VariantBuilder } from './variants.ts';

const label = (n: Node) => n.name || n.label;

/** Output SQNR of each layer quantized alone, most sensitive (lowest) first; `floatBytes` is `floatModel` serialized. */
export async function rankSensitivity(
  floatModel: Model,
  floatBytes: Uint8Array,
  builder: VariantBuilder,
  source: InputSource,
  progress?: (fraction: number, label?: string) => void,
): Promise<Array<Sensitivity & { layer: Node }>> {
  const outputs = floatModel.graph.outputs.map((o) => o.name);
  const reference: Array<Map<string, Float32Array>> = [];
  const floatRunner = await openRunner(floatBytes, 'the float model');
  try {
    await forEachBatch(floatRunner, source, outputs, (out) => {
      reference.push(out);
    });
  } finally {
    await floatRunner.close();
  }
  const result: Array<Sensitivity & { layer: Node }> = [];
  for (const [i, layer] of builder.layers.entries()) {
    progress?.(i / builder.layers.length, `sensitivity ${label(layer)}`);
    const others = new Map(builder.layers.filter((l) => l !== layer).map((l) => [l, 'sensitivity probe']));
    const v = await builder.build(others);
    const runner = await openRunner(v.model, `the model with only ${label(layer)} quantized`);
    let signal = 0;
    let noise = 0;
    let b = 0;
    try {
      await forEachBatch(runner, source, outputs, (out) => {
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
    const outputSqnrDb = sqnrDb(signal, noise);
    result.push({ layer, node: label(layer), opType: layer.opType, outputSqnrDb });
  }
  return result.sort((a, b) => a.outputSqnrDb - b.outputSqnrDb);
}

export interface FallbackArgs {
  floatModel: Model;
  builder: VariantBuilder;
  /** The all-int8 variant, already built by `builder`. */
  initial: Variant;
  evaluate: (model: Uint8Array) => Promise<number>;
  /** Percentage points of accuracy; with metric 'sqnr', the floor in dB. */
  budget: number;
  /** What `evaluate` gives: top-1 accuracy as a fraction (default), or the worst output SQNR in dB against float (needs no labels). */
  metric?: 'accuracy' | 'sqnr';
  source: InputSource;
  progress?: (fraction: number, label?: string) => void;
  note?: (message: string) => void;
  /**
   * What a returned layer becomes when that is not float: a lower rung of a precision ladder
   * (dynamic int8's 'weight-only int8'). Every layer may then be returned — with all of them
   * the model is still not the float one — and a budget unmet after that is left in the
   * report (finalDrop > 0) for the next rung, not thrown.
   */
  rung?: string;
}

export async function fallbackToBudget(a: FallbackArgs): Promise<{ variant: Variant; report: FallbackReport; floatLayers: Map<Node, string> }> {
  const floatBytes = modelToBytes(a.floatModel);
  const sqnr = a.metric === 'sqnr';
  // The float model against itself: SQNR +Infinity without running it.
  const floatAccuracy = sqnr ? Infinity : await a.evaluate(floatBytes);
  let variant = a.initial;
  const quantizedAccuracy = await a.evaluate(modelToBytes(variant.model));
  // Rounded to 1e-9 pt: 96.9 − 96.8 must not read as 0.10000000000000009 > 0.1. For SQNR: dB under the floor.
  const drop = (acc: number) => Math.round((sqnr ? a.budget - acc : (floatAccuracy - acc) * 100) * 1e9) / 1e9;
  const within = (d: number) => d <= (sqnr ? 0 : a.budget);
  const change = (from: number, to: number) => (sqnr ? `SQNR ${from.toFixed(1)} → ${to.toFixed(1)} dB` : `drop ${drop(from).toFixed(2)} → ${drop(to).toFixed(2)} pt`);
  const report: FallbackReport = {
    ...(sqnr && { metric: 'sqnr' as const }),
    ...(a.rung && { rung: a.rung }),
    budget: a.budget,
    floatAccuracy,
    quantizedAccuracy,
    finalAccuracy: quantizedAccuracy,
    finalDrop: drop(quantizedAccuracy),
    sensitivity: [],
    steps: [{ floatLayers: [], accuracy: quantizedAccuracy }],
    keptFloat: [],
  };
  const floatLayers = new Map<Node, string>();
  const to = a.rung ?? 'float';
  if (within(report.finalDrop)) return { variant, report, floatLayers };

  const ranked = await rankSensitivity(a.floatModel, floatBytes, a.builder, a.source, (f, l) => a.progress?.(0.5 * f, l));
  report.sensitivity = ranked.map(({ node, opType, outputSqnrDb }) => ({ node, opType, outputSqnrDb }));
  for (const [rank, s] of ranked.entries()) {
    if (!a.rung && floatLayers.size === a.builder.layers.length - 1) {
      const msg = sqnr
        ? `SQNR floor ${a.budget} dB cannot be met: with ${floatLayers.size} of ${a.builder.layers.length} layers in float ` +
          `the worst output is still at ${report.finalAccuracy.toFixed(1)} dB against float; only the float model meets it`
        : `accuracy budget ${a.budget} pt cannot be met: with ${floatLayers.size} of ${a.builder.layers.length} layers in float ` +
          `the drop is still ${report.finalDrop.toFixed(2)} pt (float ${(floatAccuracy * 100).toFixed(2)} %); only the float model meets it`;
      a.note?.(`fallback: ${msg}. Sensitivity (output SQNR with the layer quantized alone): ${ranked.map((r) => `${r.node} ${r.outputSqnrDb.toFixed(1)} dB`).join(', ')}`);
      throw new CheckError(msg);
    }
    const before = report.finalAccuracy;
    floatLayers.set(s.layer, `returned to ${to} by fallback: sensitivity rank ${rank + 1} (output SQNR ${s.outputSqnrDb.toFixed(1)} dB with only it quantized)`);
    a.progress?.(0.5 + (0.5 * (rank + 1)) / ranked.length, `fallback: ${s.node} to ${to}`);
    variant = await a.builder.build(floatLayers);
    const acc = await a.evaluate(modelToBytes(variant.model));
    report.steps.push({ floatLayers: [...floatLayers.keys()].map(label), accuracy: acc });
    report.finalAccuracy = acc;
    report.finalDrop = drop(acc);
    report.keptFloat.push(s.node);
    a.note?.(`fallback: ${a.rung ? `moved ${s.node} (${s.opType}) to ${to}` : `kept ${s.node} (${s.opType}) in float`}, sensitivity rank ${rank + 1} (output SQNR ${s.outputSqnrDb.toFixed(1)} dB alone); ${change(before, acc)}`);
    if (within(report.finalDrop)) break;
  }
  return { variant, report, floatLayers };
}
