/**
 * Which MatMul/Gemm nodes can take int4 weights, and the graph rewrite once their weights
 * are quantized: either `DequantizeLinear` (opset 21 blocked INT4/UINT4) feeding the
 * original node, or the node replaced by `com.microsoft::MatMulNBits`.
 */
import type { Graph } from '../../ir/graph.ts';
import type { Model } from '../../ir/model.ts';
import { Node } from '../../ir/node.ts';
import { Tensor } from '../../ir/tensor.ts';
import { readFloat32Into } from '../../ir/tensor-pieces.ts';
import { constantValues } from '../../ops/infer.ts';
import { transpose } from '../../math/arrays.ts';
import { MS_DOMAIN } from '../int8/emit.ts';
import { dqLayout, nbitsLayout } from './layout.ts';
import type { BlockQuantized } from './block.ts';
import type { FreshNames } from '../../ir/names.ts';

export type Int4Format = 'matmulnbits' | 'dq';
/** MatMulNBits' smallest block; smaller K is left in float. */
export const MIN_K = 16;

export interface Int4Target {
  graph: Graph;
  node: Node;
  /** Name of the constant weight (an initializer or a Constant node's output). */
  weight: string;
  tensor: Tensor;
  /** Axis of K in the stored weight: 0 for MatMul and Gemm, 1 for Gemm with transB = 1. */
  kAxis: 0 | 1;
  K: number;
  N: number;
  /**
   * The block size used: the requested one, or for K below it the smallest power of two
   * (≥ 16) holding K — one block per column either way, with less padding.
   */
  blockSize: number;
  /** Gemm's alpha (1 for MatMul): MatMulNBits folds it into the weight. */
  alpha: number;
  /** The activation input and whether it is transposed (Gemm transA). */
  input: string;
  transA: boolean;
  /** Gemm's C when it is a constant. */
  c?: Tensor;
}

export interface Int4Selection {
  opTypes: ReadonlySet<string>;
  exclude: ReadonlySet<string>;
  blockSize: number;
  format: Int4Format;
}

export interface Skip {
  node: Node;
  reason: string;
}

/** Candidate nodes, in every graph; nodes that multiply two activations are not listed. */
export function findTargets(model: Model, sel: Int4Selection): { targets: Int4Target[]; skipped: Skip[] } {
  const targets: Int4Target[] = [];
  const skipped: Skip[] = [];
  const visit = (graph: Graph, outer: ReadonlyMap<string, Tensor>) => {
    const consts = new Map([...outer, ...constantValues(graph)]);
    for (const v of graph.inputs) consts.delete(v.name);
    for (const node of graph.nodes) {
      for (const g of node.subgraphs()) visit(g, consts);
      if (node.domain !== '' || !sel.opTypes.has(node.opType) || (node.opType !== 'MatMul' && node.opType !== 'Gemm')) continue;
      const tensor = consts.get(node.inputs[1] ?? '');
      if (!tensor) continue;
      const skip = (reason: string) => skipped.push({ node, reason });
      if (sel.exclude.has(node.name)) {
        skip('excluded by name');
        continue;
      }
      if (tensor.dtype !== 'float32') {
        skip(`weight is ${tensor.dtype}; int4 quantizes float32 weights`);
        continue;
      }
      if (tensor.dims.length !== 2) {
        skip(`weight has rank ${tensor.dims.length}; int4 quantizes 2-D weights`);
        continue;
      }
      const gemm = node.opType === 'Gemm';
      const transA = gemm && node.getInt('transA', 0) !== 0;
      if (transA && sel.format === 'matmulnbits') {
        skip('Gemm with transA = 1 has no MatMulNBits form (use format dq)');
        continue;
      }
      const kAxis = gemm && node.getInt('transB', 0) !== 0 ? 1 : 0;
      const K = tensor.dims[kAxis]!;
      const N = tensor.dims[1 - kAxis]!;
      if (K < MIN_K) {
        skip(`K = ${K} is below ${MIN_K}: too few inputs to share a 4-bit scale worth saving`);
        continue;
      }
      const blockSize = K >= sel.blockSize ? sel.blockSize : Math.max(MIN_K, 2 ** Math.ceil(Math.log2(K)));
      const alpha = gemm ? node.getFloat('alpha', 1) : 1;
      const c = gemm && node.inputs[2] ? consts.get(node.inputs[2]) : undefined;
      targets.push({ graph, node, weight: node.inputs[1]!, tensor, kAxis, K, N, blockSize, alpha, input: node.inputs[0]!, transA, ...(c ? { c } : {}) });
    }
  };
  visit(model.graph, new Map());
  return { targets, skipped };
}

/** The weight as W [K, N] float32 (a Gemm transB weight transposed), times `factor`; in `scratch` (reused, at least K·N long) when given and no transpose is needed. */
export function weightMatrix(t: Int4Target, factor = 1, scratch?: Float32Array): Float32Array {
  let w: Float32Array;
  if (t.kAxis === 0 && scratch) {
    // Read into the caller's reused buffer: fresh memory costs 3–8 s per GiB on these VMs.
    w = scratch.subarray(0, t.K * t.N);
    readFloat32Into(t.tensor, w);
  } else {
    const v = t.tensor.toFloat32();
    // A copy either way (transpose makes one): scaling below must not touch the tensor's values.
    w = t.kAxis === 0 ? v.slice() : transpose(v, t.N, t.K);
  }
  if (factor !== 1) for (let i = 0; i < w.length; i++) w[i] = Math.fround(w[i]! * factor);
  return w;
}

function raw(name: string, dtype: Tensor['dtype'], dims: readonly number[], bytes: Uint8Array): Tensor {
  return new Tensor(name, dtype, [...dims], { kind: 'raw', chunk: bytes });
}

function insertBefore(graph: Graph, anchor: Node, ...nodes: Node[]): void {
  graph.nodes.splice(graph.nodes.indexOf(anchor), 0, ...nodes);
}

export interface EmitOptions {
  format: Int4Format;
  /** MatMulNBits accuracy_level (0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 activations). */
  accuracyLevel: number;
}

/** Tensors already emitted for a quantized weight in a graph, so consumers share them. */
export type EmitCache = Map<string, string[]>;

/**
 * Rewrites one node to use `q` (which must be W·alpha for MatMulNBits, W for dq). Returns
 * the bytes of the new weight tensors when they were created here (0 when shared).
 */
export function emitTarget(t: Int4Target, q: BlockQuantized, opts: EmitOptions, names: FreshNames, cache: EmitCache, key: string): number {
  const { graph, node } = t;
  const base = t.weight.replace(/[^A-Za-z0-9_.]/g, '_');
  const cacheKey = `${key}\u0000${opts.format}`;
  let tensors = cache.get(cacheKey);
  let bytes = 0;
  const add = (tensor: Tensor) => {
    graph.addInitializer(tensor);
    bytes += tensor.byteLength;
    return tensor.name;
  };
  if (opts.format === 'dq') {
    if (!tensors || !tensors.every((n) => graph.initializers.has(n))) {
      const l = dqLayout(q, t.kAxis);
      tensors = [
        add(raw(names.fresh(`${base}_q4`), l.dtype, l.dims, l.codes)),
        add(Tensor.fromTyped(names.fresh(`${base}_scale`), l.scales, l.scaleDims)),
      ];
      if (l.zeroPoints) tensors.push(add(raw(names.fresh(`${base}_zp`), 'uint4', l.scaleDims, l.zeroPoints)));
      cache.set(cacheKey, tensors);
    }
    const out = names.fresh(`${base}_dq`);
    const dq = new Node('DequantizeLinear', [...tensors], [out], names.fresh(`${node.name || base}_dq`));
    dq.setAttr('axis', t.kAxis);
    dq.setAttr('block_size', q.blockSize);
    insertBefore(graph, node, dq);
    node.inputs[1] = out;
    return bytes;
  }
  if (!tensors || !tensors.every((n) => graph.initializers.has(n))) {
    const l = nbitsLayout(q);
    tensors = [add(raw(names.fresh(`${base}_q4`), 'uint8', l.bDims, l.b)), add(Tensor.fromTyped(names.fresh(`${base}_scale`), l.scales, l.scaleDims))];
    if (l.zeroPoints) tensors.push(add(raw(names.fresh(`${base}_zp`), 'uint8', l.zeroPointDims!, l.zeroPoints)));
    cache.set(cacheKey, tensors);
  }
  const inputs = [t.input, tensors[0]!, tensors[1]!, tensors[2] ?? ''];
  const after = gemmBias(t, names, inputs);
  const output = after ? names.fresh(`${node.outputs[0]}_nbits`) : node.outputs[0]!;
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const nbits = new Node('MatMulNBits', inputs, [output], node.name || names.fresh('matmulnbits'), MS_DOMAIN, [], node.proto);
  nbits.setAttr('K', t.K);
  nbits.setAttr('N', t.N);
  nbits.setAttr('bits', 4);
  nbits.setAttr('block_size', q.blockSize);
  nbits.setAttr('accuracy_level', opts.accuracyLevel);
  const at = graph.nodes.indexOf(node);
  const extra = after ? after(output, node.outputs[0]!) : [];
  graph.nodes.splice(at, 1, nbits, ...extra);
  return bytes;
}

/**
 * Gemm's C for MatMulNBits: a constant with N values (or 1) becomes the op's bias input
 * (times beta); anything else is added after the op. Returns a builder of the nodes to add
 * after it, or undefined when none are needed.
 */
function gemmBias(t: Int4Target, names: FreshNames, inputs: string[]): ((from: string, to: string) => Node[]) | undefined {
  const { node, graph } = t;
  const c = node.opType === 'Gemm' ? node.inputs[2] : undefined;
  if (!c) return undefined;
  const beta = node.getFloat('beta', 1);
  const ct = t.c;
  if (ct && (ct.size === t.N || ct.size === 1) && ct.dims.length <= 2 && (ct.dims.length < 2 || ct.dims[0] === 1)) {
    const v = ct.toFloat32();
    const bias = Float32Array.from({ length: t.N }, (_, i) => Math.fround(beta * v[ct.size === 1 ? 0 : i]!));
    const name = names.fresh(`${c.replace(/[^A-Za-z0-9_.]/g, '_')}_bias`);
    graph.addInitializer(Tensor.fromTyped(name, bias, [t.N]));
    while (inputs.length < 5) inputs.push('');
    inputs[5] = name;
    return undefined;
  }
  return (from, to) => {
    if (beta === 1) return [new Node('Add', [from, c], [to], names.fresh(`${node.name || to}_bias`))];
    if (ct) {
      const scaledC = names.fresh(`${c.replace(/[^A-Za-z0-9_.]/g, '_')}_scaled`);
      graph.addInitializer(Tensor.fromTyped(scaledC, ct.toFloat32().map((v) => beta * v), ct.dims));
      return [new Node('Add', [from, scaledC], [to], names.fresh(`${node.name || to}_bias`))];
    }
    const b = names.fresh(`${node.name || to}_beta`);
    graph.addInitializer(Tensor.fromTyped(b, Float32Array.of(beta), []));
    const scaled = names.fresh(`${c}_scaled`);
    return [new Node('Mul', [c, b], [scaled], names.fresh(`${node.name || to}_beta_mul`)), new Node('Add', [from, scaled], [to], names.fresh(`${node.name || to}_bias`))];
  };
}
