/**
 * Dynamic int8 for MatMul/Gemm: weights become per-column symmetric int8 ahead of time;
 * activations are quantized at run time (DynamicQuantizeLinear, uint8, per tensor). Written
 * with standard ops — DynamicQuantizeLinear → MatMulInteger → Cast → Mul — which
 * onnxruntime fuses into its DynamicQuantizeMatMul kernel. No calibration needed.
 *
 * Weights are quantized one at a time straight from their (possibly lazy, on-disk) payload
 * and the float values are dropped at once, so a model larger than memory can be converted.
 */
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import { cloneNode, GraphEmitter } from './emit.ts';
import type { GraphFacts, Selection } from './plan.ts';
import { channelMaxAbs, roundHalfEven, symmetricScale, tensorMaxAbs } from './scales.ts';

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

export interface DynamicWeight {
  /** [K, N] codes. */
  values: Int8Array;
  scales: Float32Array;
  k: number;
  n: number;
}

/**
 * Per-column symmetric int8 of a [K, N] weight (or of the transpose of an [N, K] one),
 * times `factor`. Reads the float values once; per tensor when `perChannel` is false.
 */
export function quantizeDynamicWeight(data: Float32Array, dims: readonly number[], transposed: boolean, perChannel: boolean, factor = 1): DynamicWeight {
  const [r, c] = [dims[0]!, dims[1]!];
  const k = transposed ? c : r;
  const n = transposed ? r : c;
  const axis = transposed ? 0 : 1;
  const maxAbs = perChannel ? channelMaxAbs(data, dims, axis) : Float64Array.of(tensorMaxAbs(data));
  const scales = Float32Array.from(maxAbs, (m) => symmetricScale(m * Math.abs(factor), 127));
  const values = new Int8Array(k * n);
  const one = scales.length === 1;
  if (!transposed) {
    // Row-major [K, N]: column j uses scales[j].
    const div = one ? undefined : Float64Array.from(scales, (s) => s / factor);
    const s0 = scales[0]! / factor;
    for (let i = 0, at = 0; i < k; i++) {
      for (let j = 0; j < n; j++, at++) {
        const q = roundHalfEven(data[at]! / (div ? div[j]! : s0));
        values[at] = q > 127 ? 127 : q < -127 ? -127 : q;
      }
    }
  } else {
    // Row-major [N, K]: row j is output column j.
    for (let j = 0, at = 0; j < n; j++) {
      const s = scales[one ? 0 : j]! / factor;
      for (let i = 0; i < k; i++, at++) {
        const q = roundHalfEven(data[at]! / s);
        values[i * n + j] = q > 127 ? 127 : q < -127 ? -127 : q;
      }
    }
  }
  return { values, scales, k, n };
}

export interface DynamicEmitOptions {
  perChannel: boolean;
  /** Quantized weights by key, reused across the variants fallback builds. */
  cache?: Map<string, DynamicWeight>;
  /** Called after each weight is quantized (progress). */
  onWeight?: (done: number, total: number) => void;
}

export function emitDynamic(model: Model, plan: DynamicPlan, f: GraphFacts, opts: DynamicEmitOptions): Model {
  const e = new GraphEmitter(model);
  const total = plan.nodes.size;
  let done = 0;
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
        const outs = [e.fresh(`${x}_quantized`), e.fresh(`${x}_scale`), e.fresh(`${x}_zero_point`)];
        e.node('DynamicQuantizeLinear', [x], outs);
        return outs.join('\u0000');
      })
      .split('\u0000') as [string, string, string];
    const wKey = `dw:${wName}:${p.transposed}:${alpha}`;
    const [wq, ws, wz] = e
      .once(wKey, () => {
        const t = f.consts.get(wName)!;
        const q = opts.cache?.get(wKey) ?? quantizeDynamicWeight(t.toFloat32(), t.dims, p.transposed, opts.perChannel, alpha);
        opts.cache?.set(wKey, q);
        e.replaced.add(wName);
        const sDims = q.scales.length > 1 ? [q.scales.length] : [];
        const names = [
          e.constant(`${wName}_quantized`, q.values, [q.k, q.n]),
          e.constant(`${wName}_scale`, q.scales, sDims),
          e.constant(`${wName}_zero_point`, new Int8Array(q.scales.length), sDims),
        ];
        opts.onWeight?.(++done, total);
        return names.join('\u0000');
      })
      .split('\u0000') as [string, string, string];
    const y = node.outputs[0]!;
    const base = node.name || y;
    const acc = e.fresh(`${base}_MatMulInteger_Output`);
    e.node('MatMulInteger', [xq, wq, xz, wz], [acc], {}, { name: node.name || undefined });
    const accF = e.fresh(`${base}_Cast_Output`);
    e.node('Cast', [acc], [accF], { to: 1 });
    const scale = e.fresh(`${base}_scale`);
    e.node('Mul', [xs, ws], [scale]);
    if (p.bias) {
      const beta = node.getFloat('beta', 1);
      const scaled = e.fresh(`${base}_unbiased`);
      e.node('Mul', [accF, scale], [scaled]);
      let c = p.bias;
      if (beta !== 1) {
        c = e.constant(`${p.bias}_times_beta`, f.consts.get(p.bias)!.toFloat32().map((v) => v * beta), f.consts.get(p.bias)!.dims, `beta:${p.bias}:${beta}`);
        e.replaced.add(p.bias);
      }
      e.node('Add', [scaled, c], [y]);
    } else {
      e.node('Mul', [accF, scale], [y]);
    }
  }
  return e.build();
}
