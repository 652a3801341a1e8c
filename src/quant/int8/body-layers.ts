/**
 * Fallback over the layers inside If/Loop/Scan bodies too. Exporters put every weight of some
 * models there (silero-vad: all of them, in the branches of one If), so a fallback that ranks
 * only main-graph layers cannot return any of them to float.
 *
 * Main-graph variants share the float model's bodies (subgraphs.ts): each variant built here
 * quantizes the bodies of a copy, with the body layers fallback chose kept float.
 */
import type { Graph } from '../../ir/graph.ts';
import type { Model } from '../../ir/model.ts';
import type { Node } from '../../ir/node.ts';
import { capturableGraphs } from '../../runtime/capture.ts';
import { makeDynamicPlan } from './emit-dynamic.ts';
import { makePlan, planLayers, type GraphFacts, type Selection } from './plan.ts';
import { withShallowConvs } from './shallow-convs.ts';
import { quantizeBodies, type BodyCalibration } from './subgraphs.ts';
import type { QuantizeOptions } from './types.ts';
import { demoted, type DynamicRung, type Variant, type VariantBuilder } from './variants.ts';

/** The body nodes quantizeBodies would quantize as layers (before calibration shows which branches run); for the weight-only rung, those running as integer ops. */
function bodyLayers(model: Model, bodies: readonly GraphFacts[], sel: Selection, o: QuantizeOptions, rung: DynamicRung): Node[] {
  const capturable = capturableGraphs(model);
  return bodies.flatMap((f) => {
    const s = withShallowConvs(f, sel, o.mode, o.minConvInputChannels);
    if (o.mode === 'dynamic') return [...makeDynamicPlan(f, s, model.opset()).nodes.values()].filter((p) => rung === 'float' || p.integer).map((p) => p.node);
    return capturable.has(f.graph) ? planLayers(makePlan(f, s)).map((p) => p.node) : [];
  });
}

/** `m` keyed by the copy's nodes where `map` has one (body nodes), else as it was. */
function remap<V>(m: ReadonlyMap<Node, V>, map: ReadonlyMap<Node, Node>): Map<Node, V> {
  return new Map([...m].map(([n, v]) => [map.get(n) ?? n, v]));
}

export type BodyVariant = Variant & { bodiesQuantized: true };

/** `inner` (main-graph variants) with every body's layers added to what fallback may return to float (or, dynamic, to the weight-only `rung`). */
export function withBodyLayers(
  inner: VariantBuilder,
  model: Model,
  bodies: readonly GraphFacts[],
  sel: Selection,
  o: QuantizeOptions,
  calibration?: BodyCalibration,
  rung: DynamicRung = 'float',
): VariantBuilder {
  const layers = bodyLayers(model, bodies, sel, o, rung);
  return {
    layers: [...inner.layers, ...layers],
    async build(extraFloat): Promise<BodyVariant> {
      const v = await inner.build(extraFloat);
      const copy = v.model.clone();
      const from = [...v.model.graph.walk()];
      const to = [...copy.graph.walk()];
      const toCopy = new Map<Node, Node>();
      const toFloat = new Map<Node, Node>();
      const copied = bodies.map((f) => {
        const at = from.indexOf(f.graph);
        if (at < 0) throw new Error(`body '${f.graph.name}' is not shared by the main graph's variant`);
        const g: Graph = to[at]!;
        f.graph.nodes.forEach((n, i) => {
          toCopy.set(n, g.nodes[i]!);
          toFloat.set(g.nodes[i]!, n);
        });
        return { ...f, graph: g, index: g.index() };
      });
      const s = demoted(sel, extraFloat, rung);
      const copies = (nodes: ReadonlySet<Node>) => new Set([...nodes].map((n) => toCopy.get(n) ?? n));
      const bodySel: Selection = {
        ...s,
        float: remap(s.float, toCopy),
        ...(s.force && { force: copies(s.force) }),
        ...(s.weightOnly && { weightOnly: copies(s.weightOnly) }),
      };
      const b = await quantizeBodies(copy, copied, bodySel, o, calibration);
      const back = (n: Node) => toFloat.get(n) ?? n;
      return {
        ...v,
        model: copy,
        quantized: [...v.quantized, ...b.quantized.map(back)],
        skipped: new Map([...v.skipped, ...[...b.skipped].map(([n, why]) => [back(n), why] as const)]),
        weights: v.weights + b.weights,
        bodiesQuantized: true,
      };
    },
  };
}
