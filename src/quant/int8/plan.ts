/**
 * The static int8 plan: which nodes run quantized, which tensors get an activation range,
 * which ranges must be shared, and which ReLU/Clip nodes fold into the range before them.
 * Pure analysis of the float graph: the emitters turn a plan into QDQ or QOperator nodes,
 * and fallback builds new plans with more nodes kept in float.
 */
import type { Graph, GraphIndex } from '../../ir/graph.ts';
import type { Node } from '../../ir/node.ts';
import type { Tensor } from '../../ir/tensor.ts';
import { tensorFacts } from '../../ir/tensor-facts.ts';
import type { TypeMap } from '../../ops/infer.ts';
import { INT8_NATIVE, dataInputs, isLayer, quantKind, type QuantKind } from './ops.ts';

export type QuantFormat = 'qdq' | 'qoperator';

export interface Selection {
  /** Op types quantized (nodes of other types stay float unless forced). */
  opTypes: ReadonlySet<string>;
  /** Nodes kept float, with the reason reported for each. */
  float: ReadonlyMap<Node, string>;
  /** Nodes quantized whatever their op type (a recipe's int8 entries). */
  force?: ReadonlySet<Node>;
  format: QuantFormat;
  /** Per-channel weight scales; false = one scale per weight tensor. */
  perChannel: boolean;
  /** Dynamic mode: nodes whose weights are stored int8 + DequantizeLinear though an integer op exists (shallow convs). */
  weightOnly?: ReadonlySet<Node>;
}

export interface GraphFacts {
  graph: Graph;
  types: TypeMap;
  /** Initializers and Constant-node outputs. */
  consts: ReadonlyMap<string, Tensor>;
  index: GraphIndex;
}

export interface NodePlan {
  node: Node;
  kind: QuantKind;
  /** Inputs quantized as activations (per tensor, calibrated range), by position. */
  acts: number[];
  /** Constant inputs of binary ops, quantized per tensor from their own values. */
  consts: number[];
  /** The weight input and its channel axis (undefined: one scale for the tensor). */
  weight?: { index: number; axis: number | undefined };
  /** The bias input, quantized to int32 with scale input_scale × weight_scale. */
  bias?: number;
  /**
   * Add/Mul with a constant right after a MatMul/Gemm (bias, scale), computed in float on the
   * layer's output before it is quantized: one rounding instead of two, the bias exact.
   */
  post: Node[];
  /** ReLU/Clip folded into this node's output range (removed from the graph). */
  fused?: Node;
  /** Names of this node's outputs in the quantized graph (a folded activation's output replaces the first). */
  outputs: string[];
}

export interface Plan {
  nodes: Map<Node, NodePlan>;
  /** Activation nodes folded away. */
  fused: Set<Node>;
  /** Post-ops (see NodePlan.post) and the layer they belong to. */
  postOps: Map<Node, NodePlan>;
  /** Every tensor that gets a quantization range, in graph order. */
  tensors: string[];
  /**
   * Tensor → the representative of the tensors sharing its range. Value-preserving ops tie
   * their input and output; `shareConcatRanges` may tie Concat inputs once ranges are known.
   */
  groupOf: Map<string, string>;
  /** Candidate nodes left in float, with why. */
  skipped: Map<Node, string>;
}

const isFloat = (f: GraphFacts, name: string) => !!name && f.types.get(name)?.dtype === 'float32';
const constFloat = (f: GraphFacts, name: string) => {
  const t = name ? f.consts.get(name) : undefined;
  return t && t.dtype === 'float32' ? t : undefined;
};

/**
 * A float constant with ±Infinity or NaN (a mask): it has no int8 or int32 code, so its layer
 * stays float. tensorFacts: one scan of the stored bytes, cached for weights read from a file
 * (validation already scanned them) — plans are made once per fallback variant.
 */
function nonFinite(f: GraphFacts, name: string | undefined): boolean {
  const t = name ? constFloat(f, name) : undefined;
  return t !== undefined && tensorFacts(t).nonFinite !== undefined;
}
const NON_FINITE = 'a constant input holds ±Infinity or NaN (a mask): no integer code represents it';

/** Whether a Clip keeps 0 inside its range (so folding it into a range that contains 0 is exact). */
function clipFoldable(f: GraphFacts, node: Node): boolean {
  const bound = (i: number, attr: string, fallback: number): number | undefined => {
    const name = node.inputs[i];
    if (name) {
      const t = f.consts.get(name);
      return t && t.size === 1 ? t.toFloat32()[0] : undefined;
    }
    return node.getFloat(attr, fallback);
  };
  const lo = bound(1, 'min', -Infinity);
  const hi = bound(2, 'max', Infinity);
  return lo !== undefined && hi !== undefined && lo <= 0 && hi > 0;
}

export function makePlan(f: GraphFacts, sel: Selection): Plan {
  const nodes = new Map<Node, NodePlan>();
  const fused = new Set<Node>();
  const postOps = new Map<Node, NodePlan>();
  const skipped = new Map<Node, string>();
  /** The plan whose (logical) output a tensor is. */
  const ownerOf = new Map<string, NodePlan>();
  /** Moves a layer's logical output from `from` to `to` (a folded node's output). */
  const moveOutput = (p: NodePlan, from: string, to: string) => {
    p.outputs[0] = to;
    ownerOf.delete(from);
    ownerOf.set(to, p);
    quantized.delete(from);
    order.splice(order.indexOf(from), 1);
    mark(to);
  };
  /** Whether `x` is the sole-consumer, non-output logical output of `p`, so a node after it can fold. */
  const foldable = (p: NodePlan | undefined, x: string): p is NodePlan =>
    !!p && p.outputs[0] === x && !p.fused && (f.index.consumers.get(x) ?? []).length === 1 && !outputs.has(x);
  const quantized = new Set<string>();
  const order: string[] = [];
  const outputs = new Set(f.graph.outputs.map((o) => o.name));
  const mark = (name: string) => {
    if (!quantized.has(name)) order.push(name);
    quantized.add(name);
  };

  for (const node of f.graph.nodes) {
    const kind = quantKind(node);
    if (!kind) continue;
    if (!sel.opTypes.has(node.opType) && !sel.force?.has(node)) continue;
    const floatReason = sel.float.get(node);
    if (floatReason !== undefined) {
      skipped.set(node, floatReason);
      continue;
    }
    // Reshapes, pools that pass values through and unfoldable activations are not worth a
    // report line each: only layers (and nodes the user named) are listed when left float.
    const skip = (why: string) => {
      if (isLayer(kind)) skipped.set(node, why);
    };
    const accept = (p: Omit<NodePlan, 'node' | 'kind' | 'outputs' | 'post'> & { kind?: QuantKind }) => {
      const plan: NodePlan = { node, kind: p.kind ?? kind, outputs: [...node.outputs], post: [], ...p };
      nodes.set(node, plan);
      for (const i of plan.acts) mark(node.inputs[i]!);
      for (const o of node.outputs) {
        if (!o) continue;
        mark(o);
        ownerOf.set(o, plan);
      }
    };
    if (!node.outputs.every((o) => !o || isFloat(f, o))) {
      skip('output is not float32');
      continue;
    }
    switch (kind) {
      case 'weighted': {
        const x = node.inputs[0] ?? '';
        if (!isFloat(f, x) || f.consts.has(x)) {
          skip('input is not a float32 activation');
          break;
        }
        const w = constFloat(f, node.inputs[1] ?? '');
        if (node.opType === 'MatMul' && !w) {
          if (isFloat(f, node.inputs[1] ?? '')) accept({ kind: 'matmul', acts: [0, 1], consts: [] });
          else skip('second input is not float32');
          break;
        }
        if (!w) {
          skip('weight is not a float32 constant');
          break;
        }
        if (node.opType === 'Conv') {
          if (w.dims.length < 3) {
            skip('weight rank below 3');
            break;
          }
          const b = node.inputs[2];
          if (b && !constFloat(f, b)) {
            skip('bias is not a float32 constant');
            break;
          }
          if (nonFinite(f, b)) {
            skip(NON_FINITE);
            break;
          }
          accept({ acts: [0], consts: [], weight: { index: 1, axis: sel.perChannel ? 0 : undefined }, bias: b ? 2 : undefined });
        } else if (node.opType === 'MatMul') {
          if (w.dims.length < 2) {
            skip('weight is a vector');
            break;
          }
          // Per output column; batched weights keep one scale per tensor in QOperator (QLinearMatMul is 2-D per column).
          const axis = sel.perChannel && (w.dims.length === 2 || sel.format === 'qdq') ? w.dims.length - 1 : undefined;
          accept({ acts: [0], consts: [], weight: { index: 1, axis } });
        } else {
          if (w.dims.length !== 2) {
            skip('weight is not 2-D');
            break;
          }
          const transB = node.getInt('transB', 0) === 1;
          const n = transB ? w.dims[0]! : w.dims[1]!;
          const c = node.inputs[2];
          const ct = c ? constFloat(f, c) : undefined;
          const biasOk = ct !== undefined && ct.size === n && (ct.dims.length === 1 || (ct.dims.length === 2 && ct.dims[0] === 1));
          if (nonFinite(f, c)) {
            skip(NON_FINITE);
            break;
          }
          if (c && !biasOk && sel.format === 'qoperator') {
            skip('C is not a per-column constant bias (QGemm needs one)');
            break;
          }
          accept({ acts: [0], consts: [], weight: { index: 1, axis: sel.perChannel ? (transB ? 0 : 1) : undefined }, bias: biasOk ? 2 : undefined });
        }
        break;
      }
      case 'binary': {
        const ins = node.inputs.slice(0, 2);
        if (!ins.every((i) => isFloat(f, i))) {
          skip('inputs are not float32');
          break;
        }
        if (ins.some((i) => nonFinite(f, i))) {
          skip(NON_FINITE);
          break;
        }
        const post = postOpOf(f, node, ownerOf, foldable);
        if (post) {
          post.post.push(node);
          postOps.set(node, post);
          moveOutput(post, post.outputs[0]!, node.outputs[0]!);
          break;
        }
        const acts = [0, 1].filter((i) => !f.consts.has(ins[i]!));
        const consts = [0, 1].filter((i) => f.consts.has(ins[i]!));
        if (acts.length === 0) skip('both inputs are constants');
        // Only when every non-constant input is already 8-bit: then it runs in int8 without
        // quantizing a float branch just for it (and GELU/LayerNorm arithmetic stays float).
        else if (!acts.every((i) => quantized.has(ins[i]!))) skip(acts.some((i) => quantized.has(ins[i]!)) ? 'an input comes from a float node' : 'no input comes from a quantized layer');
        else accept({ acts, consts });
        break;
      }
      case 'pool':
      case 'unary': {
        const x = node.inputs[0] ?? '';
        if (!isFloat(f, x)) skip('input is not float32');
        else if (!quantized.has(x)) skip('input does not come from a quantized layer');
        else accept({ acts: [0], consts: [] });
        break;
      }
      case 'concat':
      case 'preserving': {
        const data = dataInputs(node).filter((i) => node.inputs[i]);
        if (sel.format === 'qoperator' && !INT8_NATIVE.has(node.opType)) skip('onnxruntime has no 8-bit kernel for it');
        else if (node.opType === 'MaxPool' && node.outputs[1]) skip('it returns indices');
        else if (!data.every((i) => isFloat(f, node.inputs[i]!) && !f.consts.has(node.inputs[i]!))) skip('data input is not a float32 activation');
        else if (kind === 'concat' ? !data.every((i) => quantized.has(node.inputs[i]!)) : !data.some((i) => quantized.has(node.inputs[i]!))) skip('input does not come from a quantized layer');
        else accept({ acts: data, consts: [] });
        break;
      }
      case 'activation': {
        const x = node.inputs[0] ?? '';
        const p = ownerOf.get(x);
        if (!foldable(p, x) || !isLayer(p.kind) || !(node.opType === 'Relu' || clipFoldable(f, node))) {
          skip('not directly after a quantized layer, so it cannot fold into its range');
          break;
        }
        moveOutput(p, x, node.outputs[0]!);
        p.fused = node;
        fused.add(node);
        break;
      }
      case 'matmul':
        break;
    }
  }

  const plan: Plan = { nodes, fused, postOps, tensors: order, groupOf: new Map(), skipped };
  returnUnreadToFloat(f, plan, outputs, sel.force);
  plan.groupOf = groupTensors(plan, []);
  return plan;
}

/**
 * An Add, Mul, Softmax or pool whose result only float ops read would be dequantized straight
 * away: its 8-bit kernel saves nothing, and the result is rounded once more (GELU's `x * 0.5`,
 * the residual Add before a final LayerNorm). Such nodes go back to float, repeatedly, since
 * that can leave the node before them in the same position — unless a recipe forced them.
 */
function returnUnreadToFloat(f: GraphFacts, plan: Plan, graphOutputs: ReadonlySet<string>, forced: ReadonlySet<Node> = new Set()): void {
  const readInt8 = (t: string) =>
    (f.index.consumers.get(t) ?? []).some((r) => {
      const rp = plan.nodes.get(r);
      return rp !== undefined && rp.acts.some((i) => r.inputs[i] === t);
    });
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of plan.nodes.values()) {
      if (!ELEMENTWISE.has(p.kind) || forced.has(p.node) || p.outputs.some((o) => !o || graphOutputs.has(o) || readInt8(o))) continue;
      plan.nodes.delete(p.node);
      plan.skipped.set(p.node, 'only float ops read its result');
      if (p.fused) plan.fused.delete(p.fused);
      for (const o of p.outputs) plan.tensors.splice(plan.tensors.indexOf(o), 1);
      changed = true;
    }
  }
}

const ELEMENTWISE: ReadonlySet<QuantKind> = new Set(['binary', 'unary', 'pool']);

/**
 * The MatMul/Gemm layer an Add/Mul with one constant operand folds into as a post-op: it must
 * read the layer's output (and be its only reader), and not change the output's shape.
 */
function postOpOf(f: GraphFacts, node: Node, ownerOf: ReadonlyMap<string, NodePlan>, foldable: (p: NodePlan | undefined, x: string) => p is NodePlan): NodePlan | undefined {
  const [a, b] = node.inputs;
  const constIdx = [a, b].findIndex((i) => !!i && f.consts.has(i));
  if (constIdx < 0 || [a, b].filter((i) => i && f.consts.has(i)).length !== 1) return undefined;
  const x = constIdx === 0 ? b! : a!;
  const p = ownerOf.get(x);
  if (!foldable(p, x) || p.post.length >= 4) return undefined;
  if (!((p.kind === 'weighted' && p.node.opType !== 'Conv') || p.kind === 'matmul')) return undefined;
  // The constant must broadcast into x without growing it: each of its dims (from the right)
  // is 1 or equal to x's.
  const xs = f.types.get(x)?.shape;
  const cs = f.consts.get(node.inputs[constIdx]!)!.dims;
  if (!xs || cs.length > xs.length) return undefined;
  return cs.every((d, i) => d === 1 || d === xs[xs.length - cs.length + i]) ? p : undefined;
}

/** Groups tensors: value-preserving ops tie inputs to outputs, plus the given extra ties. */
export function groupTensors(plan: Pick<Plan, 'nodes' | 'tensors'>, extra: ReadonlyArray<readonly string[]>): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(rb, ra);
  };
  for (const t of plan.tensors) parent.set(t, t);
  const ties: string[][] = [...extra.map((e) => [...e])];
  for (const p of plan.nodes.values()) {
    if (p.kind === 'preserving') ties.push([...p.acts.map((i) => p.node.inputs[i]!), ...p.outputs.filter(Boolean)]);
  }
  for (const members of ties) for (const m of members.slice(1)) union(members[0]!, m);
  return new Map(plan.tensors.map((t) => [t, find(t)]));
}

/** Nodes fallback can return to float: the quantized layers (not reshapes or folded activations). */
export function planLayers(plan: Plan): NodePlan[] {
  return [...plan.nodes.values()].filter((p) => isLayer(p.kind));
}

/**
 * First and last compute layers (Conv/MatMul/Gemm): those reachable from a graph input, or
 * reaching a graph output, without passing through another compute layer.
 */
export function ioLayers(f: GraphFacts): Node[] {
  const compute = (n: Node) => quantKind(n) === 'weighted';
  const found = new Set<Node>();
  const seen = new Set<string>();
  const forward = f.graph.inputs.map((v) => v.name);
  while (forward.length) {
    const name = forward.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const n of f.index.consumers.get(name) ?? []) {
      if (compute(n)) found.add(n);
      else forward.push(...n.outputs.filter(Boolean));
    }
  }
  const back = f.graph.outputs.map((v) => v.name);
  seen.clear();
  while (back.length) {
    const name = back.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const n = f.index.producer.get(name);
    if (!n) continue;
    if (compute(n)) found.add(n);
    else back.push(...n.inputs.filter(Boolean));
  }
  return f.graph.nodes.filter((n) => found.has(n));
}
