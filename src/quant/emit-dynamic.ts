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
import { closeSync, openSync } from 'node:fs';
import { isFileSlice, readFully } from '../onnx/chunk.ts';
import type { Tensor } from '../ir/tensor.ts';
import { WeightPool } from './parallel.ts';
import { quantizePerChannelSymmetric, quantizePerTensorSymmetric, sharedKernels, symmetricScale } from './scales.ts';

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
 * times `factor`; per tensor when `perChannel` is false. With the SIMD kernels, the weight
 * is read straight from its file (or buffer) into kernel memory: one pass for the column
 * maxima, one for the codes, and nothing else allocated.
 */
export function quantizeDynamicWeight(t: Tensor, transposed: boolean, perChannel: boolean, factor = 1): DynamicWeight {
  const [r, c] = [t.dims[0]!, t.dims[1]!];
  const k = transposed ? c : r;
  const n = transposed ? r : c;
  const kern = sharedKernels();
  if (!kern) return quantizeDynamicScalar(t.toFloat32(), t.dims, transposed, perChannel, factor);
  const input = kern.input(r * c);
  readFloats(t, input);
  if (factor !== 1) for (let i = 0; i < input.length; i++) input[i] = input[i]! * factor;
  // Stored [K, N]: channels are columns. Stored [N, K] (transposed): channels are rows.
  const perColumn = !transposed;
  let maxAbs = kern.maxAbs(r, c, perColumn);
  if (!perChannel) maxAbs = new Float32Array(maxAbs.length).fill(maxAbs.reduce((a, b) => (b > a ? b : a), 0));
  const scales = Float32Array.from(maxAbs, (m) => symmetricScale(m, 127));
  const codes = kern.quantize(r, c, scales, perColumn);
  const out = { values: transposed ? transpose(codes, r, c) : codes, scales: perChannel ? scales : scales.slice(0, 1), k, n };
  return out;
}

/** Reads a float32 tensor's values into `into` without an intermediate buffer. */
function readFloats(t: Tensor, into: Float32Array): void {
  const p = t.payload;
  if (t.dtype !== 'float32' || p.kind !== 'raw') {
    into.set(t.toFloat32());
    return;
  }
  const bytes = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
  if (!isFileSlice(p.chunk)) {
    bytes.set(p.chunk);
    return;
  }
  const fd = openSync(p.chunk.path, 'r');
  try {
    readFully(fd, bytes, p.chunk.offset);
  } finally {
    closeSync(fd);
  }
}

function transpose(codes: Int8Array, rows: number, cols: number): Int8Array {
  const out = new Int8Array(codes.length);
  for (let i = 0, at = 0; i < rows; i++) for (let j = 0; j < cols; j++, at++) out[j * rows + i] = codes[at]!;
  return out;
}

/** The same codes without SIMD. */
export function quantizeDynamicScalar(data: Float32Array, dims: readonly number[], transposed: boolean, perChannel: boolean, factor = 1): DynamicWeight {
  const [r, c] = [dims[0]!, dims[1]!];
  const scaled = factor === 1 ? data : data.map((v) => v * factor);
  const q = perChannel ? quantizePerChannelSymmetric(scaled, dims, transposed ? 0 : 1) : quantizePerTensorSymmetric(scaled);
  const scales = 'scales' in q ? q.scales : Float32Array.of(q.scale);
  return { values: transposed ? transpose(q.values, r, c) : q.values, scales, k: transposed ? c : r, n: transposed ? r : c };
}

/** Cache key of a node's quantized weight (the same weight, layout and factor share one). */
export function dynamicWeightKey(p: DynamicNode): string {
  const alpha = p.node.opType === 'Gemm' ? p.node.getFloat('alpha', 1) : 1;
  return `dw:${p.node.inputs[1]}:${p.transposed}:${alpha}`;
}

/** Weights at least this large in total are quantized on worker threads. */
const POOL_MIN_BYTES = 32 * 2 ** 20;

/**
 * Quantizes every planned weight ahead of emission, on worker threads when the weights are
 * large (each worker reads its weight from the file itself), into `cache`.
 */
export async function prequantizeDynamic(plan: DynamicPlan, f: GraphFacts, perChannel: boolean, cache: Map<string, DynamicWeight>, onWeight?: (done: number, total: number) => void): Promise<void> {
  const todo = new Map<string, DynamicNode>();
  for (const p of plan.nodes.values()) if (!cache.has(dynamicWeightKey(p))) todo.set(dynamicWeightKey(p), p);
  let bytes = 0;
  for (const p of todo.values()) bytes += f.consts.get(p.node.inputs[1]!)!.byteLength;
  const pool = bytes >= POOL_MIN_BYTES && sharedKernels() ? WeightPool.create() : undefined;
  let done = 0;
  const finish = (key: string, q: DynamicWeight) => {
    cache.set(key, q);
    onWeight?.(++done, todo.size);
  };
  try {
    await Promise.all(
      [...todo].map(async ([key, p]) => {
        const t = f.consts.get(p.node.inputs[1]!)!;
        const alpha = p.node.opType === 'Gemm' ? p.node.getFloat('alpha', 1) : 1;
        const payload = t.payload;
        if (!pool || t.dtype !== 'float32' || payload.kind !== 'raw') return finish(key, quantizeDynamicWeight(t, p.transposed, perChannel, alpha));
        const [r, c] = [t.dims[0]!, t.dims[1]!];
        const source = isFileSlice(payload.chunk) ? { path: payload.chunk.path, offset: payload.chunk.offset } : { bytes: payload.chunk };
        const q = await pool.quantize({ source, rows: r, cols: c, perColumn: !p.transposed, perChannel, factor: alpha });
        finish(key, { values: p.transposed ? transpose(q.values, r, c) : q.values, scales: q.scales, k: p.transposed ? c : r, n: p.transposed ? r : c });
      }),
    );
  } finally {
    await pool?.close();
  }
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
        const outs = [e.short('q'), e.short('s'), e.short('z')];
        e.node('DynamicQuantizeLinear', [x], outs);
        return outs.join('\u0000');
      })
      .split('\u0000') as [string, string, string];
    const wKey = dynamicWeightKey(p);
    const [wq, ws, wz] = e
      .once(wKey, () => {
        const t = f.consts.get(wName)!;
        const q = opts.cache?.get(wKey) ?? quantizeDynamicWeight(t, p.transposed, opts.perChannel, alpha);
        opts.cache?.set(wKey, q);
        e.replaced.add(wName);
        const sDims = q.scales.length > 1 ? [q.scales.length] : [];
        const names = [
          e.constant('wq', q.values, [q.k, q.n]),
          e.constant('ws', q.scales, sDims),
          e.constant('wz', new Int8Array(q.scales.length), sDims),
        ];
        opts.onWeight?.(++done, total);
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
