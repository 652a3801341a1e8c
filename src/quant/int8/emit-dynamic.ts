/**
 * Dynamic int8: weights become per-channel symmetric int8 ahead of time. A layer with an
 * integer op (the op table's dynamicInteger) has its input quantized at run time
 * (DynamicQuantizeLinear, uint8, per tensor): MatMul/Gemm as DynamicQuantizeLinear →
 * MatMulInteger → Cast → Mul, which onnxruntime fuses into its DynamicQuantizeMatMul kernel;
 * Conv as ConvInteger; LSTM as DynamicQuantizeLSTM. Any other (and a layer moved down the
 * precision ladder by SQNR fallback) is weight-only: int8 codes read back by a
 * DequantizeLinear, the op itself in float. No calibration needed.
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
import { cloneNode, GraphEmitter, MS_DOMAIN } from './emit.ts';
import { transpose } from '../../math/arrays.ts';
import type { GraphFacts, Selection } from './plan.ts';
import { opSpec } from '../../ops/registry.ts';
import { quantizePerChannelSymmetric, quantizePerTensorSymmetric, sharedKernels } from '../scales.ts';

export interface DynamicNode {
  node: Node;
  /**
   * Weight-only (the op table's weightOnly: ConvTranspose, GRU, RNN, grouped or shallow Conv, and
   * any layer SQNR fallback moved down from its integer op): these inputs become int8 +
   * DequantizeLinear and the node runs in float; absent when `integer` is set.
   */
  weightOnly?: { index: number; axis: number | undefined }[];
  /** Run as the op table's dynamicInteger op (MatMulInteger; ConvInteger with `bias` its B; DynamicQuantizeLSTM); absent when weight-only. */
  integer?: 'MatMulInteger' | 'ConvInteger' | 'DynamicQuantizeLSTM';
  /** The weight is stored [N, K] (Gemm transB=1) and is transposed to [K, N] while quantizing. */
  transposed: boolean;
  /** Gemm C (float, times beta). */
  bias?: string;
}

export interface DynamicPlan {
  nodes: Map<Node, DynamicNode>;
  skipped: Map<Node, string>;
}

/** Per-axis DequantizeLinear (one scale per channel) exists from opset 13. */
const PER_AXIS_DQ_OPSET = 13;

/** A weight-only node's plan: its constant float weights, or why it stays float. */
function weightOnlyPlan(f: GraphFacts, node: Node, perAxis: boolean): DynamicNode | string {
  const spec = opSpec(node)!.weightOnly!;
  const weights = spec.inputs.filter((i) => node.inputs[i]);
  const bad = weights.find((i) => f.consts.get(node.inputs[i]!)?.dtype !== 'float32');
  if (bad !== undefined) return `weight input ${bad} is not a float32 constant`;
  const axis = (i: number) => (perAxis ? spec.axis(node, f.consts.get(node.inputs[i]!)!.dims.length) : undefined);
  return { node, transposed: false, weightOnly: weights.map((index) => ({ index, axis: axis(index) })) };
}

/**
 * The node as the integer op it runs as (op table: dynamicInteger), when its inputs allow: a
 * float activation and constant float weights — MatMul/Gemm: a 2-D weight (Gemm: transA 0, a
 * constant C or none); Conv: ungrouped, weight of rank ≥ 3, constant bias or none; LSTM: W and
 * R of rank 3, batch-second layout. Otherwise its weights are weight-only.
 */
function integerPlan(f: GraphFacts, node: Node): DynamicNode | undefined {
  const op = opSpec(node)?.dynamicInteger;
  const x = node.inputs[0] ?? '';
  if (!op || f.types.get(x)?.dtype !== 'float32' || f.consts.has(x)) return undefined;
  const float = (i: number, rank: (r: number) => boolean) => {
    const t = f.consts.get(node.inputs[i] ?? '');
    return t?.dtype === 'float32' && rank(t.dims.length);
  };
  const bias = (i: number) => (node.inputs[i] ? float(i, () => true) : true);
  if (op === 'MatMulInteger') {
    const gemm = node.opType === 'Gemm';
    if (!float(1, (r) => r === 2) || (gemm && (node.getInt('transA', 0) === 1 || !bias(2)))) return undefined;
    return { node, integer: op, transposed: gemm && node.getInt('transB', 0) === 1, bias: gemm ? node.inputs[2] || undefined : undefined };
  }
  // A grouped (depthwise) conv reads one input channel per output: quantizing the activation per
  // tensor at run time leaves a quiet channel few levels (ppocrv4-rec: cosine 0.94), so weight-only.
  if (op === 'ConvInteger') {
    return node.getInt('group', 1) === 1 && float(1, (r) => r >= 3) && bias(2) ? { node, integer: op, transposed: false, bias: node.inputs[2] || undefined } : undefined;
  }
  return float(1, (r) => r === 3) && float(2, (r) => r === 3) && node.getInt('layout', 0) === 0 ? { node, integer: op, transposed: false } : undefined;
}

export function makeDynamicPlan(f: GraphFacts, sel: Pick<Selection, 'opTypes' | 'float' | 'force' | 'weightOnly'>, opset: number): DynamicPlan {
  const nodes = new Map<Node, DynamicNode>();
  const skipped = new Map<Node, string>();
  for (const node of f.graph.nodes) {
    if (node.domain !== '' && node.domain !== 'ai.onnx') continue;
    // Every op with an integer form has a weight-only one (test/quant/ops.test.ts).
    if (opSpec(node)?.weightOnly === undefined) continue;
    if (!sel.opTypes.has(node.opType) && !sel.force?.has(node)) continue;
    const reason = sel.float.get(node);
    if (reason !== undefined) {
      skipped.set(node, reason);
      continue;
    }
    const p = (!sel.weightOnly?.has(node) && integerPlan(f, node)) || weightOnlyPlan(f, node, opset >= PER_AXIS_DQ_OPSET);
    if (typeof p === 'string') skipped.set(node, p);
    else nodes.set(node, p);
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

function perTensor(data: Float32Array): { values: Int8Array; scales: Float32Array } {
  const { scale, values } = quantizePerTensorSymmetric(data);
  return { values, scales: Float32Array.of(scale) };
}

/** The constant weights a plan quantizes (for the report's count). */
export function dynamicWeights(plan: DynamicPlan): Set<string> {
  const indices = (p: DynamicNode) => p.weightOnly?.map((w) => w.index) ?? (p.integer === 'DynamicQuantizeLSTM' ? [1, 2] : [1]);
  return new Set([...plan.nodes.values()].flatMap((p) => indices(p).map((i) => p.node.inputs[i]!)));
}

/** Symmetric int8 codes of a constant weight and the DequantizeLinear that reads them back (one per weight and axis). */
function dequantizedWeight(e: GraphEmitter, f: GraphFacts, name: string, axis: number | undefined): string {
  return e.once(`wo:${name}:${axis ?? ''}`, () => {
    const t = f.consts.get(name)!;
    const data = t.toFloat32();
    const { values, scales } = axis === undefined ? perTensor(data) : quantizePerChannelSymmetric(data, t.dims, axis);
    e.replaced.add(name);
    const q = e.constant('wq', values, t.dims);
    const s = e.constant('ws', scales, axis === undefined ? [] : [scales.length]);
    const out = e.short('wd');
    e.node('DequantizeLinear', [q, s], [out], axis !== undefined && axis !== 1 ? { axis } : {});
    return out;
  });
}

/** The input quantized at run time (uint8, per tensor), once per input: codes, scale, zero point. */
function quantizedInput(e: GraphEmitter, x: string): [string, string, string] {
  return e
    .once(`dql:${x}`, () => {
      const outs = [e.short('q'), e.short('s'), e.short('z')];
      e.node('DynamicQuantizeLinear', [x], outs);
      return outs.join('\u0000');
    })
    .split('\u0000') as [string, string, string];
}

/** int32 accumulator → float × input scale × weight scale (+ bias) → `y`. */
function rescale(e: GraphEmitter, acc: string, xs: string, ws: string, bias: string | undefined, y: string): void {
  const accF = e.short('c');
  e.node('Cast', [acc], [accF], { to: 1 });
  const scale = e.short('m');
  e.node('Mul', [xs, ws], [scale]);
  if (!bias) {
    e.node('Mul', [accF, scale], [y]);
    return;
  }
  const scaled = e.short('u');
  e.node('Mul', [accF, scale], [scaled]);
  e.node('Add', [scaled, bias], [y]);
}

/**
 * Conv as ConvInteger: per-output-channel symmetric codes stored as uint8 + 128, so every
 * channel shares the zero point 128 (onnxruntime's ConvInteger takes one per tensor); the
 * per-channel scales and the bias apply after, shaped [1, M, 1, …] to broadcast over NC….
 */
function emitConvInteger(e: GraphEmitter, f: GraphFacts, p: DynamicNode, y: string): void {
  const node = p.node;
  const [xq, xs, xz] = quantizedInput(e, node.inputs[0]!);
  const wName = node.inputs[1]!;
  const t = f.consts.get(wName)!;
  const lifted = [1, t.dims[0]!, ...t.dims.slice(2).map(() => 1)];
  const [wq, ws, wz] = e
    .once(`ci:${wName}`, () => {
      const { values, scales } = quantizePerChannelSymmetric(t.toFloat32(), t.dims, 0);
      e.replaced.add(wName);
      return [e.constant('wq', Uint8Array.from(values, (v) => v + 128), t.dims), e.constant('ws', scales, lifted), e.constant('wz', Uint8Array.of(128), [], 'wz:128')].join('\u0000');
    })
    .split('\u0000') as [string, string, string];
  const acc = e.short('i');
  const conv = e.node('ConvInteger', [xq, wq, xz, wz], [acc], {}, { name: node.name || undefined });
  conv.attributes = node.attributes.map((a) => ({ ...a }));
  let bias: string | undefined;
  if (p.bias) {
    e.replaced.add(p.bias);
    bias = e.constant('b', f.consts.get(p.bias)!.toFloat32(), lifted, `cb:${p.bias}`);
  }
  rescale(e, acc, xs, ws, bias, y);
}

/**
 * LSTM as com.microsoft DynamicQuantizeLSTM: W [D, 4H, in] and R [D, 4H, H] transposed to
 * [D, in, 4H] / [D, H, 4H] as it takes them, int8 with one scale per gate row and direction.
 */
function emitQuantizedLstm(e: GraphEmitter, f: GraphFacts, node: Node): void {
  const weight = (i: number): [string, string, string] => {
    const name = node.inputs[i]!;
    return e
      .once(`lstm:${name}`, () => {
        const t = f.consts.get(name)!;
        const [d, rows, cols] = t.dims as [number, number, number];
        const v = t.toFloat32();
        const codes = new Int8Array(v.length);
        const scales = new Float32Array(d * rows);
        for (let k = 0; k < d; k++) {
          const q = quantizePerChannelSymmetric(transpose(v.subarray(k * rows * cols, (k + 1) * rows * cols), rows, cols), [cols, rows], 1);
          codes.set(q.values, k * rows * cols);
          scales.set(q.scales, k * rows);
        }
        e.replaced.add(name);
        return [e.constant('wq', codes, [d, cols, rows]), e.constant('ws', scales, [d, rows]), e.constant('wz', new Int8Array(d * rows), [d, rows], `lz:${d}:${rows}`)].join('\u0000');
      })
      .split('\u0000') as [string, string, string];
  };
  const [wq, ws, wz] = weight(1);
  const [rq, rs, rz] = weight(2);
  const inputs = [node.inputs[0]!, wq, rq, ...Array.from({ length: 5 }, (_, k) => node.inputs[3 + k] ?? ''), ws, wz, rs, rz];
  const n = e.node('DynamicQuantizeLSTM', inputs, [...node.outputs], {}, { domain: MS_DOMAIN, name: node.name || undefined });
  n.attributes = node.attributes.filter((a) => a.name !== 'layout').map((a) => ({ ...a }));
}

/**
 * MatMul/Gemm as MatMulInteger: per-column codes (an [N, K] Gemm weight stored transposed,
 * alpha folded into the scales), deferred until read or saved; beta folded into C.
 */
function emitMatMulInteger(e: GraphEmitter, f: GraphFacts, p: DynamicNode, opts: DynamicEmitOptions, parallel: boolean): void {
  const node = p.node;
  const wName = node.inputs[1]!;
  const alpha = node.opType === 'Gemm' ? node.getFloat('alpha', 1) : 1;
  const [xq, xs, xz] = quantizedInput(e, node.inputs[0]!);
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
  const acc = e.short('i');
  e.node('MatMulInteger', [xq, wq, xz, wz], [acc], {}, { name: node.name || undefined });
  let c = p.bias;
  const beta = node.getFloat('beta', 1);
  if (c && beta !== 1) {
    c = e.constant('b', f.consts.get(c)!.toFloat32().map((v) => v * beta), f.consts.get(c)!.dims, `beta:${c}:${beta}`);
    e.replaced.add(p.bias!);
  }
  rescale(e, acc, xs, ws, c, node.outputs[0]!);
}

export function emitDynamic(model: Model, plan: DynamicPlan, f: GraphFacts, opts: DynamicEmitOptions): Model {
  const e = new GraphEmitter(model, opts.scope);
  let planned = 0;
  for (const w of new Set([...plan.nodes.values()].filter((p) => p.integer === 'MatMulInteger').map((p) => p.node.inputs[1]!))) planned += f.consts.get(w)!.byteLength;
  const parallel = planned >= POOL_MIN_BYTES && sharedKernels() !== null;
  for (const node of model.graph.nodes) {
    const p = plan.nodes.get(node);
    if (!p) {
      e.push(cloneNode(node));
    } else if (p.weightOnly) {
      const c = cloneNode(node);
      for (const { index, axis } of p.weightOnly) c.inputs[index] = dequantizedWeight(e, f, node.inputs[index]!, axis);
      e.push(c);
    } else if (p.integer === 'ConvInteger') emitConvInteger(e, f, p, node.outputs[0]!);
    else if (p.integer === 'DynamicQuantizeLSTM') emitQuantizedLstm(e, f, node);
    else emitMatMulInteger(e, f, p, opts, parallel);
  }
  return e.build();
}
