/**
 * LayerNorm statistics in the masked reference. A pruned LayerNorm normalises over the kept
 * channels only; the reference (the original model, removed channels masked) computes the same
 * by masking the channels out of each mean: ReduceMean(X) becomes ReduceSum(X · mask) / K.
 * A fused LayerNormalization is written out that way in the reference.
 */
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import { Node } from '../ir/node.ts';
import { Tensor } from '../ir/tensor.ts';
import type { Statistic } from './channel-types.ts';
import type { ChannelPlan } from './channel-plan.ts';
import { freshName } from './tensor-ops.ts';

/** Adds the masked form of statistic `s` (a node of `graph`, a graph of `copy`) to the reference. */
export function maskStatistic(copy: Model, graph: Graph, s: Statistic, plan: ChannelPlan): void {
  const keep = Float32Array.from(s.ids, (id) => (plan.kept(id) ? 1 : 0));
  const kept = keep.reduce((a, b) => a + b, 0);
  if (kept === keep.length) return;
  const { node, rank } = s;
  const b = new NodeWriter(graph, node.outputs[0]!);
  const mask = b.constant('mask', keep, [keep.length, ...Array<number>(rank - 1 - s.axis).fill(1)]);
  // Σ over the kept positions (the masked ones add exact zeros), over K: the pruned model's mean.
  const others = s.axes.filter((a) => a !== s.axis).reduce((n, a) => n * (s.dims[a] as number), 1);
  const mean = (v: string, out?: string) =>
    b.op('Mul', [reduceSum(b, copy, b.op('Mul', [v, mask]), s.axes), b.constant('inverse_count', Float32Array.of(1 / (kept * others)), [])], out);
  if (node.opType === 'LayerNormalization') maskedLayerNorm(b, node, mean);
  else mean(node.inputs[0]!, node.outputs[0]!);
  graph.nodes.splice(graph.nodes.indexOf(node), 1, ...b.nodes);
}

function reduceSum(b: NodeWriter, copy: Model, v: string, axes: number[]): string {
  // ReduceSum took its axes as an input from opset 13.
  if ((copy.opsets.get('') ?? 0) >= 13) return b.op('ReduceSum', [v, b.constant('axes', BigInt64Array.from(axes, BigInt), [axes.length])]);
  return b.op('ReduceSum', [v], undefined, { axes });
}

/** LayerNormalization (outputs 1 and 2 unused) as Sub/Mul/Sqrt/Div ops around masked means. */
function maskedLayerNorm(b: NodeWriter, node: Node, mean: (v: string) => string): void {
  const [x, scale, bias] = node.inputs as [string, string, string | undefined];
  const d = b.op('Sub', [x, mean(x)]);
  const variance = mean(b.op('Mul', [d, d]));
  const eps = b.constant('epsilon', Float32Array.of(node.getFloat('epsilon', 1e-5)), []);
  const y = b.op('Div', [d, b.op('Sqrt', [b.op('Add', [variance, eps])])]);
  const out = node.outputs[0]!;
  if (bias) b.op('Add', [b.op('Mul', [y, scale]), bias], out);
  else b.op('Mul', [y, scale], out);
}

/** Fresh names, constants and nodes for one rewrite, the nodes kept in order. */
class NodeWriter {
  readonly nodes: Node[] = [];
  private count = 0;
  constructor(
    private readonly g: Graph,
    private readonly base: string,
  ) {}

  constant(what: string, values: Float32Array | BigInt64Array, dims: number[]): string {
    const name = this.name(what);
    this.g.addInitializer(Tensor.fromTyped(name, values, dims));
    return name;
  }

  op(type: string, inputs: string[], output?: string, attrs: Record<string, number[]> = {}): string {
    const out = output ?? this.name(type);
    const n = new Node(type, inputs, [out], this.name(`${type}_node`));
    for (const [k, v] of Object.entries(attrs)) n.setAttr(k, v);
    this.nodes.push(n);
    return out;
  }

  /** Numbered: names of nodes not yet in the graph cannot collide. */
  private name(what: string): string {
    return freshName(this.g, `${this.base}_${what}_${this.count++}`);
  }
}
