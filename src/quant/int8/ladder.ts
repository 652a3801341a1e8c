/**
 * Dynamic int8's precision ladder under SQNR fallback (quantize.ts steers it): a layer running
 * as an integer op (run-time per-tensor uint8 activations) moves to weight-only int8 (int8
 * weights, float compute), and only then to float. fallback.ts's loop walks each rung; these
 * are the steps around it.
 */
import { modelToBytes } from '../../io/save.ts';
import type { Node } from '../../ir/node.ts';
import type { FallbackReport } from './types.ts';
import type { Variant, VariantBuilder } from './variants.ts';

const label = (n: Node) => n.name || n.label;

/** The weight-only rung taken whole (every integer layer on it), as a fallback report. */
export function wholeRung(layers: readonly Node[], before: number, after: number, floor: number): FallbackReport {
  const names = layers.map(label);
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
    note(`fallback: ${label(n)} (${n.opType}) back to weight-only int8: the floor holds without it in float (SQNR ${best.sqnr.toFixed(1)} → ${sqnr.toFixed(1)} dB)`);
    best = { variant, floatLayers: fewer, sqnr };
  }
  return best;
}
