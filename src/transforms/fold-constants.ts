/**
 * Folds nodes whose inputs are all constants (initializers or earlier folds) into
 * initializers, evaluated by onnxruntime in one session per graph. Outputs that would be
 * much larger than their inputs (Expand, Tile, ConstantOfShape of a big shape) are left
 * alone: folding them would grow the file.
 */
import type { Graph } from '../ir/graph.ts';
import { InputError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import type { Tensor } from '../ir/tensor.ts';
import { ValueInfo } from '../ir/value.ts';
import { inferShapes, type TypeMap } from '../ops/infer.ts';
import { opSpec } from '../ops/registry.ts';
import { evaluateConstantNodes } from '../runtime/evaluate.ts';

const MAX_GROWTH_BYTES = 1 << 20;

export async function foldConstants(model: Model): Promise<number> {
  // A body sees the constants (and types) of the graphs around it: PyTorch exports build LSTM
  // weights inside If branches from main-graph initializers (Concat → Unsqueeze).
  const visit = async (g: Graph, outer: ReadonlyMap<string, Tensor>, outerTypes: TypeMap): Promise<number> => {
    let folded = await foldGraph(model, g, outer, outerTypes);
    const inputs = new Set(g.inputs.map((v) => v.name));
    const constants = new Map([...outer, ...g.initializers]);
    for (const name of inputs) constants.delete(name);
    const bodies = g.nodes.flatMap((n) => n.subgraphs());
    const types = bodies.length ? inferShapes(model, g, outerTypes) : outerTypes;
    for (const body of bodies) folded += await visit(body, constants, types);
    return folded;
  };
  return visit(model.graph, new Map(), new Map());
}

async function foldGraph(model: Model, g: Graph, outer: ReadonlyMap<string, Tensor>, outerTypes: TypeMap): Promise<number> {
  const inputs = new Set(g.inputs.map((v) => v.name));
  const constants = new Map<string, Tensor>([...outer, ...g.initializers].filter(([name]) => !inputs.has(name)));
  const known = new Set(constants.keys());
  const foldable: Node[] = [];
  for (const n of g.nodes) {
    if (!opSpec(n)?.foldable || n.opType === 'Constant' || n.subgraphs().length) continue;
    if (n.inputs.length === 0 || !n.inputs.every((i) => i === '' || known.has(i))) continue;
    foldable.push(n);
    for (const o of n.outputs) known.add(o);
  }
  if (foldable.length === 0) return 0;
  const types = inferShapes(model, g, outerTypes);
  const wanted = foldable.flatMap((n) => n.outputs).filter((o) => o && types.get(o)?.dtype && types.get(o)?.dtype !== 'string');
  let values: Map<string, Tensor>;
  try {
    values = await evaluateConstantNodes(
      foldable,
      constants,
      model.opsets,
      wanted.map((o) => new ValueInfo(o, { dtype: types.get(o)!.dtype, shape: undefined })),
      model.irVersion,
    );
  } catch (err) {
    // onnxruntime cannot evaluate these constants on their own (an op it runs only in context):
    // folding is an optimisation, so the graph keeps them as they are.
    if (err instanceof InputError) return 0;
    throw err;
  }
  const inputBytes = (n: Node) => n.inputs.reduce((s, i) => s + (constants.get(i)?.byteLength ?? 0), 0);
  let folded = 0;
  for (const n of foldable) {
    const outs = n.outputs.map((o) => values.get(o));
    if (outs.some((t) => !t)) continue;
    if (outs.reduce((s, t) => s + t!.byteLength, 0) > inputBytes(n) + MAX_GROWTH_BYTES) continue;
    for (const t of outs) {
      g.addInitializer(t!);
      constants.set(t!.name, t!);
    }
    g.nodes = g.nodes.filter((m) => m !== n);
    folded++;
  }
  return folded;
}
