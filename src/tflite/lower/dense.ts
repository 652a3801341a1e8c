/** Gemm and MatMul: FULLY_CONNECTED for constant weights (bias fused), BATCH_MATMUL between activations. */
import { PLAIN, hwcRowOrder, transposeData } from '../layout.ts';
import type { TflField } from '../model.ts';
import { dequantize, type QParams } from '../quant.ts';
import { biasTensor, fusedActivation } from './conv.ts';
import { needConstants, problem, type LowerContext, type Lowering } from './types.ts';

/** Per-tensor int8 weight for FULLY_CONNECTED (the TFLite int8 spec's granularity) from a QDQ model's values. */
function storedFcWeight(ctx: LowerContext, kn: boolean): Float32Array | undefined {
  const w = ctx.constant(1);
  if (!w?.quant) return undefined;
  const f = dequantize(w.quant.q, w.dims, w.quant.params);
  return kn ? transposeData(f, w.dims, [1, 0]) : f;
}

/**
 * FULLY_CONNECTED from input 0 and a constant weight: `kn` when it is stored [K, N] (MatMul,
 * Gemm transB=0), else [N, K]. `alpha` scales the weight, `biasInput` names the bias position.
 */
function fullyConnected(ctx: LowerContext, kn: boolean, alpha: number, biasInput: number | undefined, beta = 1): void {
  const { e, node, mode } = ctx;
  const xName = node.inputs[0]!;
  const w = ctx.constant(1)!;
  const [n, k] = kn ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
  let data = storedFcWeight(ctx, kn) ?? (kn ? transposeData(w.data, w.dims, [1, 0]) : w.data.slice());
  if (alpha !== 1) data = data.map((v) => v * alpha);
  const layout = e.layoutOf(xName);
  let x: number;
  if (layout.kind === 'hwc' && e.shapeOf(xName).length === 2) {
    // The input's columns are in (h, w, c) order: reorder the weight's K columns to match.
    const order = hwcRowOrder(layout.c, layout.h, layout.w);
    const permuted = new Float32Array(data.length);
    for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) permuted[r * k + j] = data[r * k + order[j]!]!;
    data = permuted;
    x = e.read(xName, mode);
  } else {
    x = layout.kind === 'plain' ? e.read(xName, mode) : e.readAs(xName, mode, 'plain');
  }
  const int8 = mode === 'int8' || e.kind === 'dynamic';
  const weight = e.weight(node.inputs[1]!, data, [n, k], { int8, axis: 0, perAxis: false });
  const inQ: QParams | undefined = mode === 'int8' ? e.qparams.get(xName) : undefined;
  let bias: number;
  if (biasInput !== undefined && node.inputs[biasInput] && beta !== 1) {
    const c = ctx.constant(biasInput)!;
    const scaled = c.data.map((v) => v * beta);
    bias = biasTensor({ ...ctx, constant: (i) => (i === biasInput ? { ...c, data: scaled } : ctx.constant(i)) }, biasInput, n, inQ, mode === 'int8' ? weight.scales : undefined);
  } else bias = biasTensor(ctx, biasInput, n, inQ, mode === 'int8' ? weight.scales : undefined);
  const rank = e.shapeOf(xName).length;
  const out = e.define(node.outputs[0]!, mode, PLAIN);
  const fields: TflField[] = [
    { slot: 0, kind: 'int8', value: fusedActivation(node) },
    { slot: 1, kind: 'int8', value: 0 },
    { slot: 2, kind: 'bool', value: rank > 2 },
  ];
  e.emit('FULLY_CONNECTED', [x, weight.index, bias], [out], { name: 'FullyConnectedOptions', fields }, { keepNumDims: rank > 2, perChannel: false });
}

const gemm: Lowering = {
  check(node, ctx) {
    const out = needConstants(node, ctx, [1, 2], 'Gemm weight/bias');
    if (node.getInt('transA', 0) !== 0) out.push(problem('unsupported-attribute', 'Gemm transA=1'));
    const c = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
    const w = ctx.constant(node.inputs[1]!);
    if (c && w) {
      const n = node.getInt('transB', 0) ? w.dims[0]! : w.dims[1]!;
      if (c.data.length !== n && c.data.length !== 1) out.push(problem('unsupported-attribute', `Gemm bias of shape [${c.dims.join(',')}] (only per-output-column biases)`));
    }
    return out;
  },
  lower(ctx) {
    const { node } = ctx;
    fullyConnected(ctx, node.getInt('transB', 0) === 0, node.getFloat('alpha', 1), node.inputs[2] ? 2 : undefined, node.getFloat('beta', 1));
  },
};

/** MatMul; a third input (set by the exporter's fusion of a following bias Add) is the bias. */
const matmul: Lowering = {
  check(node, ctx) {
    const a = ctx.shape(node.inputs[0]!);
    const b = ctx.shape(node.inputs[1]!);
    if (ctx.constant(node.inputs[0]!) && !ctx.constant(node.inputs[1]!)) return [problem('non-constant-weight', 'MatMul with a constant left operand and an activation right operand')];
    if ((a && a.length < 2) || (b && b.length < 2)) return [problem('unsupported-attribute', 'MatMul with a 1-D operand')];
    const w = ctx.constant(node.inputs[1]!);
    if (w && w.dims.length !== 2) return [problem('unsupported-attribute', `MatMul with a constant rank-${w.dims.length} weight`)];
    return [];
  },
  lower(ctx) {
    const { e, node, mode } = ctx;
    if (ctx.constant(1)) {
      fullyConnected(ctx, true, 1, node.inputs[2] ? 2 : undefined);
      return;
    }
    const a = e.readAs(node.inputs[0]!, mode, 'plain');
    const b = e.readAs(node.inputs[1]!, mode, 'plain');
    const out = e.define(node.outputs[0]!, mode, PLAIN);
    const fields: TflField[] = [
      { slot: 0, kind: 'bool', value: false },
      { slot: 1, kind: 'bool', value: false },
    ];
    e.emit('BATCH_MATMUL', [a, b], [out], { name: 'BatchMatMulOptions', fields });
  },
};

export const DENSE_LOWERINGS: Record<string, Lowering> = { Gemm: gemm, MatMul: matmul };
