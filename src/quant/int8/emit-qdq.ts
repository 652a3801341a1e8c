/**
 * QDQ format: the float graph with QuantizeLinear → DequantizeLinear pairs on every
 * quantized activation and DequantizeLinear on int8 weights and int32 biases. onnxruntime
 * fuses DQ → Conv → Q into QLinearConv (and the same for MatMul, Gemm, Add …), while any
 * runtime that knows Q/DQ can run it. A quantized tensor keeps its name (the DQ output
 * carries it), so per-layer comparisons with the float model are by name.
 */
import type { Graph } from '../../ir/graph.ts';
import { float, type Node } from '../../ir/node.ts';
import type { Model } from '../../ir/model.ts';
import { opSpec } from '../../ops/registry.ts';
import { storeConstantsInt8 } from './constants.ts';
import { cloneNode, GraphEmitter } from './emit.ts';
import type { GraphFacts, NodePlan, Plan } from './plan.ts';
import { affineParams, qrange, quantizeAffine, quantizeBias, tensorMaxAbs, type AffineParams } from '../scales.ts';
import type { QuantWeight, WeightQuantizer } from './weights.ts';

export interface EmitContext {
  plan: Plan;
  facts: GraphFacts;
  weights: WeightQuantizer;
  /** Quantization parameters of a planned tensor (shared within its group). */
  params: (tensor: string) => AffineParams;
  activationType: 'uint8' | 'int8';
  /** Bias codes clamped to the int32 range (reported). */
  clampedBias?: { count: number };
  /** Filled by the QOperator emitter: planned tensor → name of its 8-bit version. */
  intNames?: Map<string, string>;
  /** Store the float constants left over (LayerNorm, post-op biases …) as int8 + DequantizeLinear. */
  constantsInt8?: boolean;
  /** The main graph, when the model emitted is one of its bodies (new names must be unique in all of it). */
  scope?: Graph;
}

export const zeroPointArray = (type: 'uint8' | 'int8', zp: number) => (type === 'uint8' ? Uint8Array.of(zp) : Int8Array.of(zp));

/** Gemm's alpha is folded into the weight and beta into the bias before quantizing. */
export function gemmFactors(p: NodePlan): { alpha: number; beta: number } {
  if (p.node.opType !== 'Gemm') return { alpha: 1, beta: 1 };
  return { alpha: p.node.getFloat('alpha', 1), beta: p.node.getFloat('beta', 1) };
}

/** Shared by both formats: int8 weight codes, int32 bias codes, per-tensor codes of constant operands. */
export class QuantizedConstants {
  constructor(
    readonly e: GraphEmitter,
    private readonly ctx: EmitContext,
  ) {}

  weight(p: NodePlan): { name: string; q: QuantWeight; scale: string } {
    const w = p.weight!;
    const src = p.node.inputs[w.index]!;
    const { alpha } = gemmFactors(p);
    const key = `w:${src}:${w.axis ?? ''}:${alpha}`;
    const q = this.ctx.weights.weight(src, w.axis, alpha);
    const perCh = w.axis !== undefined;
    const dims = perCh ? [q.scales.length] : [];
    this.e.replaced.add(src);
    return {
      q,
      name: this.e.constant('wq', q.values, q.dims, key),
      scale: this.e.constant('ws', q.scales, dims, `${key}:s`),
    };
  }

  /** Zeros shaped like the weight's scales, one tensor shared by every weight of that many channels. */
  weightZeroPoint(q: QuantWeight): string {
    const n = q.axis === undefined ? 0 : q.scales.length;
    return this.e.constant('wz', new Int8Array(Math.max(n, 1)), n ? [n] : [], `wz:${n}`);
  }

  bias(p: NodePlan, inputScale: number, q: QuantWeight): { name: string; scale: string; scales: Float32Array } {
    const src = p.node.inputs[p.bias!]!;
    const { beta } = gemmFactors(p);
    const key = `b:${src}:${inputScale}:${q.scales.join(',')}:${beta}`;
    const { scales, values, clamped } = quantizeBias(this.ctx.weights.values(src, beta), inputScale, q.scales);
    if (this.ctx.clampedBias && clamped) this.ctx.clampedBias.count += clamped;
    const dims = scales.length > 1 ? [scales.length] : [];
    this.e.replaced.add(src);
    return {
      scales,
      name: this.e.constant('bq', values, [values.length], key),
      scale: this.e.constant('bs', scales, dims, `${key}:s`),
    };
  }

  /** A constant operand of Add/Mul, quantized per tensor over its own [min, max]. */
  operand(src: string): { name: string; params: AffineParams; scale: string; zeroPoint: string } {
    const type = this.ctx.activationType;
    const t = this.ctx.weights.tensor(src);
    const v = this.ctx.weights.values(src);
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    // A constant that is all one value (a scalar) is exact with a symmetric scale.
    const params = lo === hi ? affineParams(-tensorMaxAbs(v), tensorMaxAbs(v), qrange(type)) : affineParams(lo, hi, qrange(type));
    const key = `c:${src}`;
    this.e.replaced.add(src);
    return {
      params,
      name: this.e.constant('cq', quantizeAffine(v, params, type), t.dims, key),
      scale: this.e.constant('cs', Float32Array.of(params.scale), [], `${key}:s`),
      zeroPoint: this.e.constant('cz', zeroPointArray(type, params.zeroPoint), [], `${key}:z`),
    };
  }

  /** Scale and zero-point initializers of a planned activation tensor (one pair per group). */
  activation(tensor: string): { scale: string; zeroPoint: string; params: AffineParams } {
    const rep = this.ctx.plan.groupOf.get(tensor) ?? tensor;
    const params = this.ctx.params(tensor);
    return {
      params,
      scale: this.e.once(`a:${rep}:s`, () => this.e.constant('s', Float32Array.of(params.scale), [])),
      zeroPoint: this.e.once(`a:${rep}:z`, () => this.e.constant('z', zeroPointArray(this.ctx.activationType, params.zeroPoint), [])),
    };
  }
}

export function emitQdq(model: Model, ctx: EmitContext): Model {
  const e = new GraphEmitter(model, ctx.scope);
  const k = new QuantizedConstants(e, ctx);
  const { plan } = ctx;
  const quantized = new Set(plan.tensors);
  const propagates = model.opset() >= PROPAGATION_OPSET;
  const qdq = (tensor: string, from: string, to: string) => {
    const a = k.activation(tensor);
    const q = e.short('q');
    e.node('QuantizeLinear', [from, a.scale, a.zeroPoint], [q]);
    e.node('DequantizeLinear', [q, a.scale, a.zeroPoint], [to]);
  };
  // Graph inputs (and, in a body, values from the graphs around it) keep their names; their
  // readers switch to the dequantized copy.
  const renamed = new Map<string, string>();
  for (const name of [...model.graph.inputs.map((v) => v.name), ...model.graph.outerReferences()]) {
    if (!quantized.has(name)) continue;
    const dq = e.fresh(`${name}_dq`);
    qdq(name, name, dq);
    renamed.set(name, dq);
  }
  // Results no quantized node reads as an activation: logits, or a projection feeding float GELU
  // or a float residual Add.
  const readInt8 = new Set([...plan.nodes.values()].flatMap((p) => p.acts.map((i) => p.node.inputs[i]!)));
  const readByBodies = new Set(model.graph.nodes.flatMap((n) => n.subgraphs().flatMap((g) => [...g.outerReferences()])));
  const codesOf = codesReadByBodies(model.graph, readByBodies, quantized, plan);
  // A layer with post-ops keeps its own output name; its last post-op writes the logical output.
  const lastPost = new Map<Node, string>();
  for (const p of plan.nodes.values()) if (p.post.length) lastPost.set(p.post[p.post.length - 1]!, p.outputs[0]!);
  for (const node of model.graph.nodes) {
    if (plan.fused.has(node)) continue;
    const c = cloneNode(node);
    c.inputs = c.inputs.map((i) => renamed.get(i) ?? i);
    const p = plan.nodes.get(node);
    if (p) rewriteConstants(c, p, k, ctx);
    const last = lastPost.get(node);
    if (last) c.outputs = [last];
    // Every planned output: the node writes a short float name, Q/DQ turn it back into `<t>`.
    const after: Array<[params: string, from: string, to: string]> = [];
    const exact = p !== undefined && propagates && carriesCodes(p, plan, quantized) && !p.outputs.some((o) => readByBodies.has(o));
    const layer = p ?? plan.postOps.get(node);
    // A layer with an int8 kernel that writes float (op table: int8FloatOutput) keeps a result
    // only float ops read float: a Q/DQ pair there would only round it, and cost two kernels
    // (tinyvit's fc1 → GELU: Q + DQ 31 µs of 170 at batch 32, and onnxruntime's GELU fusion lost).
    c.outputs = c.outputs.map((o) => {
      if (o && codesOf.has(o)) {
        const pre = e.short('f');
        after.push([codesOf.get(o)!, pre, o]);
        return pre;
      }
      // Not when a ReLU/Clip was folded into its range: the Q/DQ pair is that activation.
      if (!o || !quantized.has(o) || exact || (layer && !layer.fused && !readInt8.has(o) && opSpec(layer.node)?.int8FloatOutput)) return o;
      const pre = e.short('f');
      after.push([o, pre, o]);
      return pre;
    });
    e.push(c);
    for (const [params, pre, o] of after) qdq(params, pre, o);
  }
  if (ctx.constantsInt8) storeConstantsInt8(e);
  return e.build();
}

/**
 * A Reshape, Transpose, MaxPool … of a dequantized tensor already holds exact codes of its
 * input's range, which its output shares: a Q/DQ pair there would change no value. Leaving it
 * out saves two nodes per op where onnxruntime's QDQ propagation puts the pair back (the
 * optimized graphs are identical): only for the ops it propagates through, and only their
 * versions from opset 13 on (the op table's qdqPropagated; its list: MaxPool-12, Reshape-13/14,
 * Transpose-13 …; MaxPool-8 or -10 would stop it). After a Flatten, for one, a missing pair
 * keeps the next Gemm float.
 */
const PROPAGATION_OPSET = 13;

/**
 * Values that a Transpose, Reshape, MaxPool … (qdqPropagated) of a dequantized tensor
 * computes, and that an If/Loop/Scan body reads from this graph, need a Q/DQ pair of their
 * own. onnxruntime 1.30's QDQ propagation would insert one between such a value and the node
 * whose body reads it, and aborts doing so (an assertion on that node's input list, SIGABRT:
 * silero-vad v4's LSTM branches); a pair emitted here changes no value and leaves it nothing
 * to insert. For planned nodes that is their usual pair (not left out as exact); this finds the
 * others, each mapped to the quantized tensor whose codes (and parameters) it holds.
 */
function codesReadByBodies(g: Graph, readByBodies: ReadonlySet<string>, quantized: ReadonlySet<string>, plan: Plan): Map<string, string> {
  const root = new Map<string, string>();
  const found = new Map<string, string>();
  for (const n of g.nodes) {
    if (plan.nodes.has(n) || !opSpec(n)?.qdqPropagated) continue;
    const x = n.inputs[0]!;
    const source = quantized.has(x) ? x : root.get(x);
    const out = n.outputs[0];
    if (source === undefined || !out || quantized.has(out)) continue;
    root.set(out, source);
    if (readByBodies.has(out)) found.set(out, source);
  }
  return found;
}

function carriesCodes(p: NodePlan, plan: Plan, quantized: ReadonlySet<string>): boolean {
  if (!opSpec(p.node)?.qdqPropagated || p.acts.length !== 1) return false;
  const x = p.node.inputs[p.acts[0]!]!;
  return quantized.has(x) && p.outputs.every((o) => !o || plan.groupOf.get(o) === plan.groupOf.get(x));
}

function rewriteConstants(c: Node, p: NodePlan, k: QuantizedConstants, ctx: EmitContext): void {
  if (p.post.length === 0) c.outputs = [...p.outputs];
  const e = k.e;
  if (p.weight) {
    const w = k.weight(p);
    const dq = e.once(`wdq:${w.name}`, () => {
      const out = e.short('wd');
      // Symmetric codes need no zero point (it defaults to 0), but onnxruntime fuses a Gemm
      // into QGemm only with one. Axis 1 (a MatMul weight's columns) is the default: not stored.
      const inputs = p.node.opType === 'Gemm' ? [w.name, w.scale, k.weightZeroPoint(w.q)] : [w.name, w.scale];
      e.node('DequantizeLinear', inputs, [out], w.q.axis !== undefined && w.q.axis !== 1 ? { axis: w.q.axis } : {});
      return out;
    });
    c.inputs[p.weight.index] = dq;
    if (p.node.opType === 'Gemm') c.setAttr('alpha', float(1));
    if (p.bias !== undefined) {
      const b = k.bias(p, ctx.params(p.node.inputs[p.acts[0]!]!).scale, w.q);
      const out = e.once(`bdq:${b.name}`, () => {
        const o = e.short('bd');
        // No zero point: an int32 bias's is 0, the input is optional, and onnxruntime still fuses.
        e.node('DequantizeLinear', [b.name, b.scale], [o], b.scales.length > 1 ? { axis: 0 } : {});
        return o;
      });
      c.inputs[p.bias] = out;
      if (p.node.opType === 'Gemm') c.setAttr('beta', float(1));
    }
  }
  for (const i of p.consts) {
    const src = p.node.inputs[i]!;
    const q = k.operand(src);
    c.inputs[i] = e.once(`cdq:${q.name}`, () => {
      const o = e.short('cd');
      e.node('DequantizeLinear', [q.name, q.scale, q.zeroPoint], [o]);
      return o;
    });
  }
}
