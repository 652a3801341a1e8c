/**
 * QOperator format: quantized layers become integer operators (QLinearConv, QLinearMatMul,
 * com.microsoft QGemm / QLinearAdd / QLinearMul / QLinearAveragePool …) that read and write
 * 8-bit tensors; value-preserving ops run on the 8-bit tensors directly. QuantizeLinear and
 * DequantizeLinear appear only where float and integer parts of the graph meet.
 */
import { float, type AttrInput, type Node } from '../../ir/node.ts';
import type { Model } from '../../ir/model.ts';
import { opSpec } from '../../ops/registry.ts';
import { storeConstantsInt8 } from './constants.ts';
import { cloneNode, GraphEmitter, MS_DOMAIN } from './emit.ts';
import { QuantizedConstants, type EmitContext } from './emit-qdq.ts';
import type { NodePlan } from './plan.ts';

/** The integer kernel the op table names for a planned node (its `qoperator` column). */
function kernelOf(node: Node): { op: string; domain: string } {
  const kernel = opSpec(node)?.qoperator;
  if (!kernel) throw new Error(`op table: no QOperator kernel for ${node.opType}`);
  return kernel;
}

function attrsOf(n: Node, names: readonly string[]): Record<string, AttrInput> {
  const out: Record<string, AttrInput> = {};
  for (const a of n.attributes) if (names.includes(a.name)) out[a.name] = a.value as AttrInput;
  return out;
}

export function emitQOperator(model: Model, ctx: EmitContext): Model {
  const e = new GraphEmitter(model, ctx.scope);
  const k = new QuantizedConstants(e, ctx);
  const { plan } = ctx;
  const quantized = new Set(plan.tensors);
  const graph = model.graph;
  // In a body, values from the graphs around it are float values of this graph too.
  const floats = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.keys(), ...graph.outerReferences()]);
  const ints = new Map<string, string>();

  /** The 8-bit version of a planned tensor, quantizing the float one on first use. */
  const intOf = (t: string): string => {
    const have = ints.get(t);
    if (have) return have;
    const a = k.activation(t);
    const name = e.short('q');
    e.node('QuantizeLinear', [t, a.scale, a.zeroPoint], [name]);
    ints.set(t, name);
    return name;
  };
  /** The float version of a planned tensor, dequantizing the 8-bit one on first use. */
  const floatOf = (t: string): void => {
    if (floats.has(t) || !ints.has(t)) return;
    const a = k.activation(t);
    e.node('DequantizeLinear', [ints.get(t)!, a.scale, a.zeroPoint], [t]);
    floats.add(t);
  };
  const operand = (p: NodePlan, i: number): string[] => {
    const src = p.node.inputs[i]!;
    if (p.consts.includes(i)) {
      const c = k.operand(src);
      return [c.name, c.scale, c.zeroPoint];
    }
    const a = k.activation(src);
    return [intOf(src), a.scale, a.zeroPoint];
  };

  for (const node of graph.nodes) {
    if (plan.fused.has(node) || plan.postOps.has(node)) continue;
    const p = plan.nodes.get(node);
    if (!p) {
      const reads = [...node.inputs, ...node.subgraphs().flatMap((g) => [...g.outerReferences()])];
      for (const i of reads) if (quantized.has(i)) floatOf(i);
      e.push(cloneNode(node));
      for (const o of node.outputs) if (o) floats.add(o);
      continue;
    }
    const ins = p.acts.map((i) => operand(p, i));
    if (p.post.length) {
      floatOutputLayer(p, ins);
      continue;
    }
    const outs = p.outputs.map(() => e.short('q'));
    const y = k.activation(p.outputs[0]!);
    const opts = { name: node.name || undefined };
    switch (p.kind) {
      case 'weighted': {
        const w = k.weight(p);
        const x = ins[0]!;
        const weight = [w.name, w.scale, k.weightZeroPoint(w.q)];
        const bias = p.bias !== undefined ? k.bias(p, ctx.params(node.inputs[0]!).scale, w.q).name : '';
        const q = kernelOf(node);
        const kernelOpts = { ...opts, domain: q.domain };
        if (node.opType === 'Conv') {
          e.node(q.op, [...x, ...weight, y.scale, y.zeroPoint, ...(bias ? [bias] : [])], [outs[0]!], attrsOf(node, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']), kernelOpts);
        } else if (node.opType === 'MatMul') {
          e.node(q.op, [...x, ...weight, y.scale, y.zeroPoint], [outs[0]!], {}, kernelOpts);
        } else {
          const attrs = { ...attrsOf(node, ['transA', 'transB']), alpha: float(1) };
          e.node(q.op, [...x, ...weight, bias, y.scale, y.zeroPoint], [outs[0]!], attrs, kernelOpts);
        }
        break;
      }
      case 'matmul': {
        const q = kernelOf(node);
        e.node(q.op, [...ins[0]!, ...ins[1]!, y.scale, y.zeroPoint], [outs[0]!], {}, { ...opts, domain: q.domain });
        break;
      }
      case 'binary': {
        const [a, b] = [operand(p, 0), operand(p, 1)];
        const q = kernelOf(node);
        e.node(q.op, [...a, ...b, y.scale, y.zeroPoint], [outs[0]!], {}, { ...opts, domain: q.domain });
        break;
      }
      case 'pool': {
        const q = kernelOf(node);
        const attrs = node.opType === 'GlobalAveragePool' ? { channels_last: 0 } : attrsOf(node, ['auto_pad', 'ceil_mode', 'count_include_pad', 'kernel_shape', 'pads', 'strides']);
        e.node(q.op, [...ins[0]!, y.scale, y.zeroPoint], [outs[0]!], attrs, { ...opts, domain: q.domain });
        break;
      }
      case 'unary': {
        const attrs = node.opType === 'LeakyRelu' ? attrsOf(node, ['alpha']) : node.opType === 'Softmax' ? { axis: node.getInt('axis', model.opset() >= 13 ? -1 : 1), opset: model.opset() } : {};
        const q = kernelOf(node);
        e.node(q.op, [...ins[0]!, y.scale, y.zeroPoint], [outs[0]!], attrs, { ...opts, domain: q.domain });
        break;
      }
      case 'concat': {
        const group = (t: string) => plan.groupOf.get(t) ?? t;
        if (p.acts.every((i) => group(node.inputs[i]!) === group(p.outputs[0]!))) {
          const c = cloneNode(node);
          p.acts.forEach((i, j) => (c.inputs[i] = ins[j]![0]!));
          c.outputs = outs;
          e.push(c);
        } else {
          const q = kernelOf(node);
          e.node(q.op, [y.scale, y.zeroPoint, ...ins.flat()], [outs[0]!], attrsOf(node, ['axis']), { ...opts, domain: q.domain });
        }
        break;
      }
      case 'preserving': {
        const c = cloneNode(node);
        p.acts.forEach((i, j) => (c.inputs[i] = ins[j]![0]!));
        c.outputs = outs;
        e.push(c);
        break;
      }
      case 'activation':
        break;
    }
    p.outputs.forEach((o, i) => {
      if (o) ints.set(o, outs[i]!);
    });
  }
  /**
   * A MatMul/Gemm with post-ops: integer product with a float result (MatMulIntegerToFloat,
   * whose bias input takes a bias Add; QGemm without an output scale), the remaining post-ops
   * in float, then one QuantizeLinear — a folded ReLU/Clip is that QuantizeLinear's clamp.
   */
  function floatOutputLayer(p: NodePlan, ins: string[][]): void {
    const node = p.node;
    const t = p.outputs[0]!;
    const post = [...p.post];
    const last = (n: Node | undefined) => (n === post[post.length - 1] ? e.short('f') : n!.outputs[0]!);
    const opts = { name: node.name || undefined, domain: MS_DOMAIN };
    const x = ins[0]!;
    if (p.kind === 'matmul') {
      const [a, b] = [x, ins[1]!];
      e.node('MatMulIntegerToFloat', [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, b[2]!], [post.length ? node.outputs[0]! : last(undefined)], {}, opts);
    } else if (node.opType === 'MatMul') {
      const w = k.weight(p);
      const first = post[0]!;
      const biasIdx = first.opType === 'Add' ? first.inputs.findIndex((i) => ctx.facts.consts.has(i)) : -1;
      const bias = biasIdx >= 0 ? ctx.facts.consts.get(first.inputs[biasIdx]!)! : undefined;
      const useBias = bias !== undefined && bias.dims.length === 1 && bias.dims[0] === w.q.scales.length;
      if (useBias) post.shift();
      const out = useBias ? (post.length ? first.outputs[0]! : e.short('f')) : node.outputs[0]!;
      e.node('MatMulIntegerToFloat', [x[0]!, w.name, x[1]!, w.scale, x[2]!, k.weightZeroPoint(w.q), ...(useBias ? [first.inputs[biasIdx]!] : [])], [out], {}, opts);
      if (!post.length) return quantizeFloat(t, out);
    } else {
      const w = k.weight(p);
      const bias = p.bias !== undefined ? k.bias(p, ctx.params(node.inputs[0]!).scale, w.q).name : '';
      e.node('QGemm', [...x, w.name, w.scale, k.weightZeroPoint(w.q), bias], [node.outputs[0]!], { ...attrsOf(node, ['transA', 'transB']), alpha: float(1) }, opts);
    }
    let out = '';
    for (const n of post) {
      const c = cloneNode(n);
      out = c.outputs[0] = last(n);
      e.push(c);
    }
    quantizeFloat(t, out || node.outputs[0]!);
  }

  /** Quantizes a float result into the 8-bit version of planned tensor `t`. */
  function quantizeFloat(t: string, from: string): void {
    const a = k.activation(t);
    const name = e.short('q');
    e.node('QuantizeLinear', [from, a.scale, a.zeroPoint], [name]);
    ints.set(t, name);
  }

  for (const o of graph.outputs) if (quantized.has(o.name)) floatOf(o.name);
  if (ctx.intNames) for (const [t, n] of ints) ctx.intNames.set(t, n);
  if (ctx.constantsInt8) storeConstantsInt8(e);
  return e.build();
}
