/**
 * Dynamic int8 for MatMul/Gemm: weights become per-column symmetric int8 ahead of time;
 * activations are quantized at run time (DynamicQuantizeLinear, uint8, per tensor). Written
 * with standard ops — DynamicQuantizeLinear → MatMulInteger → Cast → Mul — which
 * onnxruntime fuses into its DynamicQuantizeMatMul kernel. No calibration needed.
 *
 * Weights are quantized only when read or saved (dynamic-weight.ts), one at a time straight
 * from their (possibly lazy, on-disk) payload, and the float values are dropped at once, so a
 * model larger than memory can be converted.
 */
import type { Graph } from '../../ir/graph.ts';
import type { Model } from '../../ir/model.ts';
import type { Node } from '../../ir/node.ts';
import { Tensor } from '../../ir/tensor.ts';
import type { ComputedChunk } from '../../onnx/chunk.ts';
import type { DType } from '../../onnx/dtype.ts';
import { DeferredWeight } from './dynamic-weight.ts';
import { cloneNode, GraphEmitter } from './emit.ts';
import type { GraphFacts, Selection } from './plan.ts';
import { sharedKernels } from '../scales.ts';

export interface DynamicNode {
  node: Node;
  /** The weight is stored [N, K] (Gemm transB=1) and is transposed to [K, N] while quantizing. */
  transposed: boolean;
  /** Gemm C (float, times beta). */
  bias?: string;
}

export interface DynamicPlan {
  nodes: Map<Node, DynamicNode>;
  skipped: Map<Node, string>;
}

export function makeDynamicPlan(f: GraphFacts, sel: Pick<Selection, 'opTypes' | 'float' | 'force'>): DynamicPlan {
  const nodes = new Map<Node, DynamicNode>();
  const skipped = new Map<Node, string>();
  for (const node of f.graph.nodes) {
    if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
    if (node.opType !== 'MatMul' && node.opType !== 'Gemm') continue;
    if (!sel.opTypes.has(node.opType) && !sel.force?.has(node)) continue;
    const reason = sel.float.get(node);
    if (reason !== undefined) {
      skipped.set(node, reason);
      continue;
    }
    const x = node.inputs[0] ?? '';
    const w = f.consts.get(node.inputs[1] ?? '');
    if (f.types.get(x)?.dtype !== 'float32' || f.consts.has(x)) skipped.set(node, 'input is not a float32 activation');
    else if (!w || w.dtype !== 'float32' || w.dims.length !== 2) skipped.set(node, 'weight is not a 2-D float32 constant');
    else if (node.opType === 'Gemm' && node.getInt('transA', 0) === 1) skipped.set(node, 'transA=1 is not supported by dynamic quantization');
    else if (node.opType === 'Gemm' && node.inputs[2] && !f.consts.has(node.inputs[2])) skipped.set(node, 'C is not a constant');
    else nodes.set(node, { node, transposed: node.opType === 'Gemm' && node.getInt('transB', 0) === 1, bias: node.opType === 'Gemm' ? node.inputs[2] || undefined : undefined });
  }
  return { nodes, skipped };
}

/** Cache key of a node's quantized weight (the same weight, layout and factor share one). */
export function dynamicWeightKey(p: DynamicNode): string {
  const alpha = p.node.opType === 'Gemm' ? p.node.getFloat('alpha', 1) : 1;
  return `dw:${p.node.inputs[1]}:${p.transposed}:${alpha}`;
}

/** Weights at least this large in total are quantized on worker threads (below, starting them costs more than it saves). */
const POOL_MIN_BYTES = 32 * 2 ** 20;

export interface DynamicEmitOptions {
  perChannel: boolean;
  /** Quantized weights by key, reused across the variants fallback builds. */
  cache?: Map<string, DeferredWeight>;
  /** The main graph, when the model emitted is one of its bodies (new names must be unique in all of it). */
  scope?: Graph;
}

/** An initializer named `e.short(kind)` whose values are computed later (`GraphEmitter.constant` takes values). */
function deferredConstant(e: GraphEmitter, kind: string, dtype: DType, dims: number[], chunk: ComputedChunk): string {
  const name = e.short(kind);
  e.initializers.set(name, new Tensor(name, dtype, dims, { kind: 'raw', chunk }));
  return name;
}

export function emitDynamic(model: Model, plan: DynamicPlan, f: GraphFacts, opts: DynamicEmitOptions): Model {
  const e = new GraphEmitter(model, opts.scope);
  let planned = 0;
  for (const w of new Set([...plan.nodes.values()].map((p) => p.node.inputs[1]!))) planned += f.consts.get(w)!.byteLength;
  const parallel = planned >= POOL_MIN_BYTES && sharedKernels() !== null;
  for (const node of model.graph.nodes) {
    const p = plan.nodes.get(node);
    if (!p) {
      e.push(cloneNode(node));
      continue;
    }
    const x = node.inputs[0]!;
    const wName = node.inputs[1]!;
    const alpha = node.opType === 'Gemm' ? node.getFloat('alpha', 1) : 1;
    const [xq, xs, xz] = e
      .once(`dql:${x}`, () => {
        const outs = [e.short('q'), e.short('s'), e.short('z')];
        e.node('DynamicQuantizeLinear', [x], outs);
        return outs.join('\u0000');
      })
      .split('\u0000') as [string, string, string];
    const wKey = dynamicWeightKey(p);
    const [wq, ws, wz] = e
      .once(wKey, () => {
        const t = f.consts.get(wName)!;
        // Quantized when read or saved (see DeferredWeight): saving overlaps it with writing.
        const q = opts.cache?.get(wKey) ?? new DeferredWeight(t, p.transposed, opts.perChannel, alpha, parallel);
        opts.cache?.set(wKey, q);
        e.replaced.add(wName);
        const channels = opts.perChannel ? q.n : 1;
        const sDims = channels > 1 ? [channels] : [];
        const names = [
          deferredConstant(e, 'wq', 'int8', [q.k, q.n], q.codes),
          deferredConstant(e, 'ws', 'float32', sDims, q.scales),
          e.constant('wz', new Int8Array(channels), sDims),
        ];
        return names.join('\u0000');
      })
      .split('\u0000') as [string, string, string];
    const y = node.outputs[0]!;
    const acc = e.short('i');
    e.node('MatMulInteger', [xq, wq, xz, wz], [acc], {}, { name: node.name || undefined });
    const accF = e.short('c');
    e.node('Cast', [acc], [accF], { to: 1 });
    const scale = e.short('m');
    e.node('Mul', [xs, ws], [scale]);
    if (p.bias) {
      const beta = node.getFloat('beta', 1);
      const scaled = e.short('u');
      e.node('Mul', [accF, scale], [scaled]);
      let c = p.bias;
      if (beta !== 1) {
        c = e.constant('b', f.consts.get(p.bias)!.toFloat32().map((v) => v * beta), f.consts.get(p.bias)!.dims, `beta:${p.bias}:${beta}`);
        e.replaced.add(p.bias);
      }
      e.node('Add', [scaled, c], [y]);
    } else {
      e.node('Mul', [accF, scale], [y]);
    }
  }
  return e.build();
}
