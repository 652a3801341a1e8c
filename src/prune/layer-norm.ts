/**
 * LayerNorm written out as ops, recognised by its structure (never by name), as PyTorch < 1.12,
 * tf2onnx and paddle2onnx export it:
 *
 *   μ = ReduceMean(X, axes)            D = Sub(X, μ)
 *   v = ReduceMean(Pow(D, 2) | Mul(D, D), axes)
 *   s = v → Add(ε) / Sqrt / Reciprocal / Pow(c) …   (a chain of scalar-constant steps)
 *   Y = Div(D, s) | Mul(D, s)
 *
 * Both statistics are read only inside the pattern. Channel pruning lets channels cross its
 * two ReduceMeans (their scale and bias, the Mul/Add after Y, are sliced by the broadcast rule);
 * the statistics are then computed over the kept channels.
 */
import type { Graph } from '../ir/graph.ts';
import type { Node } from '../ir/node.ts';

/** One spelled-out LayerNorm: its two statistics and the axes they reduce. */
export interface SpelledLayerNorm {
  mean: Node;
  variance: Node;
  /** The reduced axes as the model gives them (possibly negative). */
  axes: number[];
}

/** Reads a node's ints attribute, or the same list from a constant input (newer opsets). */
export type IntsOf = (node: Node, attr: string, input: number) => number[] | undefined;

const isDefault = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';
const isOp = (n: Node | undefined, op: string): n is Node => !!n && n.opType === op && isDefault(n);

/** Every spelled-out LayerNorm of `g`, keyed by both of its ReduceMean nodes. */
export function spelledOutLayerNorms(g: Graph, ints: IntsOf, isScalarConst: (v: string) => boolean): Map<Node, SpelledLayerNorm> {
  const { consumers } = g.index();
  const readers = (v: string) => consumers.get(v) ?? [];
  const only = (v: string): Node | undefined => (readers(v).length === 1 && !g.isGraphOutput(v) ? readers(v)[0] : undefined);
  const found = new Map<Node, SpelledLayerNorm>();
  for (const mean of g.nodes) {
    if (!isOp(mean, 'ReduceMean') || mean.getInt('keepdims', 1) !== 1 || g.isGraphOutput(mean.outputs[0]!)) continue;
    const axes = ints(mean, 'axes', 1);
    const x = mean.inputs[0]!;
    const subs = readers(mean.outputs[0]!);
    if (!axes?.length || !subs.length || !subs.every((s) => isOp(s, 'Sub') && s.inputs[0] === x && s.inputs[1] === mean.outputs[0])) continue;
    const centred = new Set(subs.map((s) => s.outputs[0]!));
    for (const d of centred) {
      const square = readers(d).find((n) => (isOp(n, 'Pow') && n.inputs[0] === d && isScalarConst(n.inputs[1]!)) || (isOp(n, 'Mul') && n.inputs[0] === d && n.inputs[1] === d));
      const variance = square && only(square.outputs[0]!);
      if (!isOp(variance, 'ReduceMean') || variance.getInt('keepdims', 1) !== 1 || String(ints(variance, 'axes', 1)) !== String(axes)) continue;
      if (scaleReachesCentred(variance.outputs[0]!, centred, readers, only, isScalarConst)) {
        const norm = { mean, variance, axes };
        found.set(mean, norm);
        found.set(variance, norm);
        break;
      }
    }
  }
  return found;
}

/** The variance reaches a Div/Mul of a centred value through scalar-constant steps only, and nowhere else. */
function scaleReachesCentred(
  v: string,
  centred: ReadonlySet<string>,
  readers: (v: string) => readonly Node[],
  only: (v: string) => Node | undefined,
  isScalarConst: (v: string) => boolean,
): boolean {
  for (let steps = 0; steps < 6; steps++) {
    const uses = readers(v);
    const divides = (n: Node) => isOp(n, 'Div') && n.inputs[1] === v && centred.has(n.inputs[0]!);
    const scales = (n: Node) => isOp(n, 'Mul') && n.inputs.includes(v) && n.inputs.some((i) => centred.has(i));
    if (uses.length && uses.every((n) => divides(n) || scales(n))) return true;
    const next = only(v);
    if (!next || !isDefault(next)) return false;
    const other = next.inputs.find((i) => i !== v);
    const commutes = ['Add', 'Mul', 'Max'].includes(next.opType);
    const scalarStep = (commutes || ['Pow', 'Div'].includes(next.opType)) && (commutes || next.inputs[0] === v) && other !== undefined && isScalarConst(other);
    if (!scalarStep && !['Sqrt', 'Reciprocal'].includes(next.opType)) return false;
    v = next.outputs[0]!;
  }
  return false;
}
