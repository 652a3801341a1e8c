/**
 * Accuracy-driven fallback. Layers are ranked by sensitivity (sensitivity.ts: one run of the
 * float and the all-int8 model, or one run per layer where that is cheap); then the most
 * sensitive return to float until the accuracy drop on the evaluation set is within budget —
 * or, without labels, until the worst output SQNR against float reaches its floor (metric
 * 'sqnr'). How many: the smallest prefix of the ranking that meets the budget, found by
 * doubling its length (1, 2, 4 …) and then bisecting between the last miss and the first
 * hit — about 2·log2(k) whole-model evaluations for k layers in float, where returning them
 * one at a time took k. A budget that only the float model meets is a failed check.
 */
import { CheckError } from '../../errors.ts';
import type { Model } from '../../ir/model.ts';
import type { Node } from '../../ir/node.ts';
import { modelToBytes } from '../../io/save.ts';
import type { InputSource } from '../calibration/run.ts';
import type { SensitivityMethod } from './options.ts';
import { rankSensitivity } from './sensitivity.ts';
import type { FallbackReport, Sensitivity } from './types.ts';
import type { Variant, VariantBuilder } from './variants.ts';

export interface FallbackArgs {
  floatModel: Model;
  builder: VariantBuilder;
  /** The all-int8 variant, already built by `builder`. */
  initial: Variant;
  evaluate: (model: Uint8Array) => Promise<number>;
  /** What `evaluate` gives for `initial`, when the caller measured it already (not measured twice). */
  initialScore?: number;
  /** Percentage points of accuracy; with metric 'sqnr', the floor in dB. */
  budget: number;
  /** What `evaluate` gives: top-1 accuracy as a fraction (default), or the worst output SQNR in dB against float (needs no labels). */
  metric?: 'accuracy' | 'sqnr';
  source: InputSource;
  /** How layers are ranked (sensitivity.ts); default 'auto'. */
  sensitivity?: SensitivityMethod;
  progress?: (fraction: number, label?: string) => void;
  note?: (message: string) => void;
  /**
   * What a returned layer becomes when that is not float: a lower rung of a precision ladder
   * (dynamic int8's 'weight-only int8'). Every layer may then be returned — with all of them
   * the model is still not the float one. The caller (ladder.ts) searches a rung only once all
   * layers on it are known to meet the budget; a rung that does not is taken whole there.
   */
  rung?: string;
}

const describe = (s: Sensitivity) =>
  s.method === 'alone' ? `output SQNR ${s.sqnrDb.toFixed(1)} dB with only it quantized` : `adds noise at ${s.sqnrDb.toFixed(1)} dB below its output (layer SQNR ${s.layerSqnrDb!.toFixed(1)} dB all-int8)`;

/**
 * The smallest k in 1 … most for which `meets(k)` holds, assuming that once it holds it holds
 * for every larger k; undefined when not even `most` does. Doubling (1, 2, 4 …, most) finds a
 * k that holds, then bisection between it and the last that did not: at most
 * ⌈log2 most⌉ + 1 + ⌈log2 k⌉ calls.
 */
export async function smallestPassingPrefix(most: number, meets: (k: number) => Promise<boolean>): Promise<number | undefined> {
  let miss = 0;
  let hit: number | undefined;
  for (let k = Math.min(1, most); k > miss; k = Math.min(2 * k, most)) {
    if (await meets(k)) {
      hit = k;
      break;
    }
    miss = k;
  }
  if (hit === undefined) return undefined;
  while (hit - miss > 1) {
    const mid = Math.floor((miss + hit) / 2);
    if (await meets(mid)) hit = mid;
    else miss = mid;
  }
  return hit;
}

export async function fallbackToBudget(a: FallbackArgs): Promise<{ variant: Variant; report: FallbackReport; floatLayers: Map<Node, string> }> {
  const sqnr = a.metric === 'sqnr';
  // The float model against itself: SQNR +Infinity without running it.
  const floatAccuracy = sqnr ? Infinity : await a.evaluate(modelToBytes(a.floatModel));
  const quantizedAccuracy = a.initialScore ?? (await a.evaluate(modelToBytes(a.initial.model)));
  // Rounded to 1e-9 pt: 96.9 − 96.8 must not read as 0.10000000000000009 > 0.1. For SQNR: dB under the floor.
  const drop = (acc: number) => Math.round((sqnr ? a.budget - acc : (floatAccuracy - acc) * 100) * 1e9) / 1e9;
  const within = (acc: number) => drop(acc) <= (sqnr ? 0 : a.budget);
  const change = (from: number, to: number) => (sqnr ? `SQNR ${from.toFixed(1)} → ${to.toFixed(1)} dB` : `drop ${drop(from).toFixed(2)} → ${drop(to).toFixed(2)} pt`);
  const shown = (acc: number) => (sqnr ? `SQNR ${acc.toFixed(1)} dB` : `drop ${drop(acc).toFixed(2)} pt`);
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
  if (within(quantizedAccuracy)) return { variant: a.initial, report, floatLayers: new Map() };

  const to = a.rung ?? 'float';
  const rankArgs = { floatModel: a.floatModel, builder: a.builder, initial: a.initial, source: a.source, progress: (f: number, l?: string) => a.progress?.(0.5 * f, l) };
  const ranked = await rankSensitivity(rankArgs, a.sensitivity);
  report.sensitivity = ranked.map(({ layer: _, ...s }) => s);
  // Only the float model has every layer in float: the search is over 1 … n−1 layers (all n on a lower rung).
  const most = a.rung ? ranked.length : ranked.length - 1;
  const floatFor = (k: number) => new Map(ranked.slice(0, k).map((s, rank) => [s.layer, `returned to ${to} by fallback: sensitivity rank ${rank + 1} (${describe(s)})`]));
  const expected = 2 * Math.log2(most + 1) + 1;
  let best: { variant: Variant; accuracy: number } | undefined;
  let last = quantizedAccuracy;
  const meets = async (k: number) => {
    const done = report.steps.length - 1;
    a.progress?.(0.5 + 0.5 * Math.min(1, done / expected), `fallback ${done}/${Math.ceil(expected)} evaluations (estimated), now the ${k} most sensitive of ${ranked.length} layers to ${to}`);
    const variant = await a.builder.build(floatFor(k));
    last = await a.evaluate(modelToBytes(variant.model));
    report.steps.push({ floatLayers: ranked.slice(0, k).map((s) => s.node), accuracy: last });
    a.note?.(`fallback: ${k} layer(s) to ${to} (${ranked.slice(0, k).map((s) => s.node).join(', ')}): ${shown(last)}${within(last) ? ', meets the budget' : ''}`);
    if (!within(last)) return false;
    best = { variant, accuracy: last };
    return true;
  };
  const hit = await smallestPassingPrefix(most, meets);
  if (hit === undefined || !best) {
    const msg = sqnr
      ? `SQNR floor ${a.budget} dB cannot be met: with ${most} of ${ranked.length} layers in float ` +
        `the worst output is still at ${last.toFixed(1)} dB against float; only the float model meets it`
      : `accuracy budget ${a.budget} pt cannot be met: with ${most} of ${ranked.length} layers in float ` +
        `the drop is still ${drop(last).toFixed(2)} pt (float ${(floatAccuracy * 100).toFixed(2)} %); only the float model meets it`;
    report.finalAccuracy = last;
    report.finalDrop = drop(last);
    a.note?.(`fallback: ${msg}. Sensitivity: ${ranked.map((r) => `${r.node} ${r.sqnrDb.toFixed(1)} dB (${r.method})`).join(', ')}`);
    throw new CheckError(msg);
  }
  const floatLayers = floatFor(hit);
  report.finalAccuracy = best.accuracy;
  report.finalDrop = drop(best.accuracy);
  report.keptFloat = ranked.slice(0, hit).map((s) => s.node);
  for (const [rank, s] of ranked.slice(0, hit).entries()) {
    a.note?.(`fallback: ${a.rung ? `moved ${s.node} (${s.opType}) to ${to}` : `kept ${s.node} (${s.opType}) in float`}, sensitivity rank ${rank + 1} (${describe(s)})`);
  }
  a.note?.(
    `fallback: ${hit} of ${ranked.length} layers to ${to} after ${report.steps.length - 1} evaluation(s) (doubling, then bisection over the ranking); ${change(quantizedAccuracy, best.accuracy)}`,
  );
  return { variant: best.variant, report, floatLayers };
}
