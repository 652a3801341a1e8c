/**
 * Dynamic int8's precision ladder under SQNR fallback (quantize.ts steers it): a layer running
 * as an integer op (run-time per-tensor uint8 activations) moves to weight-only int8 (int8
 * weights, float compute), and only then to float. fallback.ts's prefix search runs on each
 * rung; these are the steps around it.
 */
import { modelToBytes } from '../../io/save.ts';
import { nodeName, type Node } from '../../ir/node.ts';
import type { FallbackReport } from './types.ts';
import type { Variant, VariantBuilder } from './variants.ts';


/**
 * The first rungs: the all-int8 model, then weight-only int8 for the layers running as integer
 * ops. When all of them weight-only meet the floor, `search` (fallback over the weight-only rung,
 * given the all-int8 score measured here) finds the ones that need it; otherwise the rung is taken whole and float comes next.
 */
export async function weightOnlyRung(
  ladder: { builder: VariantBuilder; initial: Variant },
  evaluate: (bytes: Uint8Array) => Promise<number>,
  floor: number,
  search: (allInt8: number) => Promise<{ variant: Variant; floatLayers: Map<Node, string>; report: FallbackReport }>,
  note: (m: string) => void,
): Promise<{ variant: Variant; allInt8: number; moved?: { floatLayers: Map<Node, string>; report: FallbackReport }; met: boolean }> {
  const allInt8 = await evaluate(modelToBytes(ladder.initial.model));
  const integer = ladder.builder.layers;
  if (allInt8 >= floor || integer.length === 0) return { variant: ladder.initial, allInt8, met: allInt8 >= floor };
  const all = new Map(integer.map((n) => [n, 'every integer layer weight-only']));
  const allWeightOnly = await ladder.builder.build(all);
  const bottom = await evaluate(modelToBytes(allWeightOnly.model));
  if (bottom >= floor) {
    const found = await search(allInt8);
    return { variant: found.variant, allInt8, moved: found, met: found.report.finalDrop <= 0 };
  }
  note(`fallback: moved all ${integer.length} layers running as integer ops (${integer.map(nodeName).join(', ')}) to weight-only int8: SQNR ${allInt8.toFixed(1)} → ${bottom.toFixed(1)} dB, under the floor; float next`);
  return { variant: allWeightOnly, allInt8, moved: { floatLayers: all, report: wholeRung(integer, allInt8, bottom, floor) }, met: false };
}

/** The layers a weight-only report moved, for a note: by name, or their count when all of many moved. */
export function movedNames(report: FallbackReport, integer: number): string {
  return report.keptFloat.length < integer || integer <= 3 ? report.keptFloat.join(', ') : `all ${integer} integer layers`;
}

/** The weight-only rung taken whole (every integer layer on it), as a fallback report. */
function wholeRung(layers: readonly Node[], before: number, after: number, floor: number): FallbackReport {
  const names = layers.map(nodeName);
  const steps = [{ floatLayers: [], accuracy: before }, { floatLayers: names, accuracy: after }];
  return { metric: 'sqnr', rung: 'weight-only int8', budget: floor, floatAccuracy: Infinity, quantizedAccuracy: before, finalAccuracy: after, finalDrop: floor - after, sensitivity: [], steps, keptFloat: names };
}

/**
 * Fallback ranks layers one at a time, and their errors do not simply add up: a layer it
 * returned early may not be needed once later ones are back too. Each returned layer, last
 * first, goes back to weight-only int8 while the floor still holds.
 */
export async function undoUnneeded(
  builder: VariantBuilder,
  fb: { variant: Variant; floatLayers: Map<Node, string>; report: FallbackReport },
  evaluate: (bytes: Uint8Array) => Promise<number>,
  floor: number,
  note: (m: string) => void,
): Promise<{ variant: Variant; floatLayers: Map<Node, string>; sqnr: number }> {
  let best = { variant: fb.variant, floatLayers: fb.floatLayers, sqnr: fb.report.finalAccuracy };
  for (const n of [...fb.floatLayers.keys()].reverse()) {
    // With none in float it is fallback's start, which missed the floor.
    if (best.floatLayers.size === 1) break;
    const fewer = new Map(best.floatLayers);
    fewer.delete(n);
    const variant = await builder.build(fewer);
    const sqnr = await evaluate(modelToBytes(variant.model));
    if (sqnr < floor) continue;
    note(`fallback: ${nodeName(n)} (${n.opType}) back to weight-only int8: the floor holds without it in float (SQNR ${best.sqnr.toFixed(1)} → ${sqnr.toFixed(1)} dB)`);
    best = { variant, floatLayers: fewer, sqnr };
  }
  return best;
}
