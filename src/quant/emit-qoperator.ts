/**
 * QOperator format: quantized layers become integer operators (QLinearConv, QLinearMatMul,
 * com.microsoft QGemm / QLinearAdd / QLinearMul / QLinearAveragePool …) that read and write
 * 8-bit tensors; value-preserving ops run on the 8-bit tensors directly. QuantizeLinear and
 * DequantizeLinear appear only where float and integer parts of the graph meet.
 */
import { float, type AttrInput, type Node } from '../ir/node.ts';
import type { Model } from '../ir/model.ts';
import { cloneNode, GraphEmitter, MS_DOMAIN } from './emit.ts';
import { QuantizedConstants, type EmitContext } from './emit-qdq.ts';
import type { NodePlan } from './plan.ts';

const UNARY: Readonly<Record<string, string>> = { Sigmoid: 'QLinearSigmoid', LeakyRelu: 'QLinearLeakyRelu', Softmax: 'QLinearSoftmax' };

function attrsOf(n: Node, names: readonly string[]): Record<string, AttrInput> {
  const out: Record<string, AttrInput> = {};
  for (const a of n.attributes) if (names.includes(a.name)) out[a.name] = a.value as AttrInput;
  return out;
}

export function emitQOperator(model: Model, ctx: EmitContext): Model {
  const e = new GraphEmitter(model);
  const k = new QuantizedConstants(e, ctx);
  const { plan } = ctx;
  const quantized = new Set(plan.tensors);
  const graph = model.graph;
  const floats = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.keys()]);
  const ints = new Map<string, string>();

  /** The 8-bit version of a planned tensor, quantizing the float one on first use. */
  const intOf = (t: string): string => {
    const have = ints.get(t);
    if (have) return have;
    const a = k.activation(t);
    const name = e.fresh(`${t}_quantized`);
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
    if (plan.fused.has(node)) continue;
    const p = plan.nodes.get(node);
    if (!p) {
      const reads = [...node.inputs, ...node.subgraphs().flatMap((g) => [...g.outerReferences()])];
      for (const i of reads) if (quantized.has(i)) floatOf(i);
      e.push(cloneNode(node));
      for (const o of node.outputs) if (o) floats.add(o);
      continue;
    }
    const ins = p.acts.map((i) => operand(p, i));
    const outs = p.outputs.map((o) => e.fresh(`${o}_quantized`));
    const y = k.activation(p.outputs[0]!);
    const opts = { name: node.name || undefined };
    switch (p.kind) {
      case 'weighted': {
        const w = k.weight(p);
        const x = ins[0]!;
        const weight = [w.name, w.scale, w.zeroPoint];
        const bias = p.bias !== undefined ? k.bias(p, ctx.params(node.inputs[0]!).scale, w.q).name : '';
        if (node.opType === 'Conv') {
          e.node('QLinearConv', [...x, ...weight, y.scale, y.zeroPoint, ...(bias ? [bias] : [])], [outs[0]!], attrsOf(node, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']), opts);
        } else if (node.opType === 'MatMul') {
          e.node('QLinearMatMul', [...x, ...weight, y.scale, y.zeroPoint], [outs[0]!], {}, opts);
        } else {
          const attrs = { ...attrsOf(node, ['transA', 'transB']), alpha: float(1) };
          e.node('QGemm', [...x, ...weight, bias, y.scale, y.zeroPoint], [outs[0]!], attrs, { ...opts, domain: MS_DOMAIN });
        }
        break;
      }
      case 'matmul':
        e.node('QLinearMatMul', [...ins[0]!, ...ins[1]!, y.scale, y.zeroPoint], [outs[0]!], {}, opts);
        break;
      case 'binary': {
        const [a, b] = [operand(p, 0), operand(p, 1)];
        e.node(`QLinear${node.opType}`, [...a, ...b, y.scale, y.zeroPoint], [outs[0]!], {}, { ...opts, domain: MS_DOMAIN });
        break;
      }
      case 'pool':
        if (node.opType === 'GlobalAveragePool') {
          e.node('QLinearGlobalAveragePool', [...ins[0]!, y.scale, y.zeroPoint], [outs[0]!], { channels_last: 0 }, { ...opts, domain: MS_DOMAIN });
        } else {
          const attrs = attrsOf(node, ['auto_pad', 'ceil_mode', 'count_include_pad', 'kernel_shape', 'pads', 'strides']);
          e.node('QLinearAveragePool', [...ins[0]!, y.scale, y.zeroPoint], [outs[0]!], attrs, { ...opts, domain: MS_DOMAIN });
        }
        break;
      case 'unary': {
        const attrs = node.opType === 'LeakyRelu' ? attrsOf(node, ['alpha']) : node.opType === 'Softmax' ? { axis: node.getInt('axis', model.opset() >= 13 ? -1 : 1), opset: model.opset() } : {};
        e.node(UNARY[node.opType]!, [...ins[0]!, y.scale, y.zeroPoint], [outs[0]!], attrs, { ...opts, domain: MS_DOMAIN });
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
          e.node('QLinearConcat', [y.scale, y.zeroPoint, ...ins.flat()], [outs[0]!], attrsOf(node, ['axis']), { ...opts, domain: MS_DOMAIN });
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
  for (const o of graph.outputs) if (quantized.has(o.name)) floatOf(o.name);
  if (ctx.intNames) for (const [t, n] of ints) ctx.intNames.set(t, n);
  return e.build();
}
