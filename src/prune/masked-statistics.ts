/**
 * LayerNorm statistics in the masked reference. A pruned LayerNorm normalises over the kept
 * channels only; the reference (the original model, removed channels masked) computes the same
 * by masking the channels out of each mean: ReduceMean(X) becomes ReduceMean(X · mask) · N/K.
 * A fused LayerNormalization is written out that way in the reference.
 */
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import { Node } from '../ir/node.ts';
import { Tensor } from '../ir/tensor.ts';
import type { Statistic } from './channel-graph.ts';
import type { ChannelPlan } from './channel-plan.ts';
import { freshName } from './tensor-ops.ts';

/** Adds the masked form of statistic `s` (a node of `copy`) to the reference. */
export function maskStatistic(copy: Model, s: Statistic, plan: ChannelPlan): void {
  const keep = Float32Array.from(s.ids, (id) => (plan.kept(id) ? 1 : 0));
  const kept = keep.reduce((a, b) => a + b, 0);
  if (kept === keep.length) return;
  const g = copy.graph;
  const { node } = s;
  const b = new NodeWriter(g, node.outputs[0]!);
  const mask = b.constant('mask', keep, [keep.length, ...Array<number>(s.rank - 1 - s.axis).fill(1)]);
  const ratio = b.constant('rescale', Float32Array.of(keep.length / kept), []);
  if (node.opType === 'LayerNormalization') return maskedLayerNorm(copy, b, s, mask, ratio);
  const out = node.outputs[0]!;
  node.inputs[0] = b.op('Mul', [node.inputs[0]!, mask]);
  node.outputs[0] = freshName(g, `${out}_unmasked`);
  b.nodes.push(node);
  b.op('Mul', [node.outputs[0], ratio], out);
  g.nodes.splice(g.nodes.indexOf(node), 1, ...b.nodes);
}

/** LayerNormalization (outputs 1 and 2 unused) as ReduceMean/Sub/Mul/Sqrt/Div ops, its means masked. */
function maskedLayerNorm(copy: Model, b: NodeWriter, s: Statistic, mask: string, ratio: string): void {
  const { node, rank } = s;
  const [x, scale, bias] = node.inputs as [string, string, string | undefined];
  const from = (node.getInt('axis', -1)! + rank) % rank;
  const axes = Array.from({ length: rank - from }, (_, i) => from + i);
  const opset = copy.opsets.get('') ?? 0;
  const mean = (v: string) => {
    const masked = b.op('Mul', [v, mask]);
    const reduced = opset >= 18 ? b.op('ReduceMean', [masked, b.constant('axes', BigInt64Array.from(axes, BigInt), [axes.length])]) : b.op('ReduceMean', [masked], undefined, { axes });
    return b.op('Mul', [reduced, ratio]);
  };
  const d = b.op('Sub', [x, mean(x)]);
  const variance = mean(b.op('Mul', [d, d]));
  const eps = b.constant('epsilon', Float32Array.of(node.getFloat('epsilon', 1e-5)), []);
  const y = b.op('Div', [d, b.op('Sqrt', [b.op('Add', [variance, eps])])]);
  const out = node.outputs[0]!;
  if (bias) b.op('Add', [b.op('Mul', [y, scale]), bias], out);
  else b.op('Mul', [y, scale], out);
  copy.graph.nodes.splice(copy.graph.nodes.indexOf(node), 1, ...b.nodes);
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
