/** Convolutions and pooling, in NHWC: CONV_2D, DEPTHWISE_CONV_2D, TRANSPOSE_CONV, pools, global pools. */
import type { Node } from '../../ir/node.ts';
import { CONV_WEIGHT_PERM, DECONV_WEIGHT_PERM, DEPTHWISE_WEIGHT_PERM, NHWC, transposeData } from '../layout.ts';
import type { TflField } from '../model.ts';
import { quantizeBias, type QParams } from '../quant.ts';
import { windowPadding, VALID, type Padding } from './padding.ts';
import { needConstants, problem, type CheckContext, type LowerContext, type Lowering, type Problem } from './types.ts';

const int = (slot: number, value: number): TflField => ({ slot, kind: 'int32', value });
const byte = (slot: number, value: number): TflField => ({ slot, kind: 'int8', value });

/** The fused activation the exporter attached (ActivationFunctionType; 0 = none). */
export function fusedActivation(node: Node): number {
  return node.getInt('tflite_activation', 0);
}

function rank4(node: Node, ctx: CheckContext): Problem[] {
  const s = ctx.shape(node.inputs[0]!);
  return s && s.length === 4 ? [] : [problem('unsupported-attribute', `only 2-D spatial inputs (rank 4) are supported, got rank ${s?.length ?? '?'}`)];
}

function paddingOf(node: Node, shape: number[], kernel: [number, number]): Padding {
  const p = windowPadding(node, [shape[2]!, shape[3]!], kernel);
  if (typeof p === 'string') throw new Error(p);
  return p;
}

/** Emits an explicit PAD (zeros, or the zero point in int8) in NHWC, returning the padded tensor. */
function explicitPad(ctx: LowerContext, input: number, pads: [number, number, number, number]): number {
  const e = ctx.e;
  const src = e.tensors[input]!;
  const [n, h, w, c] = src.shape as [number, number, number, number];
  const out = e.addTensor({ name: `${ctx.node.outputs[0]}/pad`, shape: [n, h + pads[0] + pads[2], w + pads[1] + pads[3], c], type: src.type, ...(src.quantization ? { quantization: src.quantization } : {}) });
  const paddings = e.int32Const('paddings', [0, 0, pads[0], pads[2], pads[1], pads[3], 0, 0], [4, 2]);
  e.emit('PAD', [input, paddings], [out], { name: 'PadOptions', fields: [] });
  return out;
}

/** int32 bias for an int8 op (reusing the QDQ model's values when their scales agree), else float. */
export function biasTensor(ctx: LowerContext, index: number | undefined, n: number, inputQ: QParams | undefined, weightScales: number[] | undefined): number {
  const e = ctx.e;
  const c = index !== undefined && ctx.node.inputs[index] ? ctx.constant(index) : undefined;
  const data = c?.data ?? new Float32Array(n);
  const name = c ? ctx.node.inputs[index!]! : `${ctx.node.outputs[0]}/bias`;
  if (ctx.mode === 'int8' && inputQ && weightScales) {
    const { q, params } = quantizeBias(data.length === n ? data : new Float32Array(n).fill(data[0] ?? 0), inputQ.scale[0]!, weightScales);
    return e.addTensor({ name, shape: [n], type: 'INT32', data: new Uint8Array(q.buffer), quantization: params });
  }
  return e.float32Const(name, data.length === n ? data : new Float32Array(n).fill(data[0] ?? 0), [n]);
}

/** Per-axis int8 of a stored QDQ weight, permuted like the float data; undefined if none or not per output channel. */
function storedWeight(ctx: LowerContext, perm: number[]): { q: Int8Array; params: QParams } | undefined {
  const w = ctx.constant(1);
  if (!w?.quant || !(w.quant.q instanceof Int8Array) || w.quant.params.zeroPoint.some((z) => z !== 0)) return undefined;
  if (w.quant.params.scale.length > 1 && (w.quant.params.axis ?? 0) !== 0) return undefined;
  const q = transposeData(w.quant.q, w.dims, perm);
  for (let i = 0; i < q.length; i++) if (q[i] === -128) q[i] = -127; // the TFLite int8 spec keeps weights in [−127, 127]
  return { q, params: w.quant.params };
}

function inputQ(ctx: LowerContext): QParams | undefined {
  return ctx.mode === 'int8' ? ctx.e.qparams.get(ctx.node.inputs[0]!) : undefined;
}

function hybridOrInt8(ctx: LowerContext): boolean {
  return ctx.mode === 'int8' || ctx.e.kind === 'dynamic';
}

const conv: Lowering = {
  check(node, ctx) {
    const out = [...rank4(node, ctx), ...needConstants(node, ctx, [1, 2], 'weight/bias')];
    const x = ctx.shape(node.inputs[0]!);
    const w = ctx.constant(node.inputs[1]!);
    const group = node.getInt('group', 1);
    if (x && w && group !== 1 && !(group === x[1] && w.dims[1] === 1)) out.push(problem('unsupported-attribute', `grouped convolution (group ${group}) is neither regular nor depthwise`));
    if (x && x.length === 4 && w) {
      const p = windowPadding(node, [x[2]!, x[3]!], [w.dims[2]!, w.dims[3]!]);
      if (typeof p === 'string') out.push(problem('unsupported-attribute', p));
    }
    return out;
  },
  lower(ctx) {
    const { e, node, mode } = ctx;
    const x = e.shapeOf(node.inputs[0]!);
    const w = ctx.constant(1)!;
    const [o, , kh, kw] = w.dims as [number, number, number, number];
    const group = node.getInt('group', 1);
    const depthwise = group !== 1;
    const strides = node.getInts('strides') ?? [1, 1];
    const dil = node.getInts('dilations') ?? [1, 1];
    const pad = paddingOf(node, x, [kh, kw]);
    let input = e.readAs(node.inputs[0]!, mode, 'nhwc');
    if (pad.explicit) input = explicitPad(ctx, input, pad.explicit);
    const perm = depthwise ? DEPTHWISE_WEIGHT_PERM : CONV_WEIGHT_PERM;
    const shape = perm.map((p) => w.dims[p]!);
    const axis = depthwise ? 3 : 0;
    const int8 = hybridOrInt8(ctx);
    const weight = e.weight(node.inputs[1]!, transposeData(w.data, w.dims, perm), shape, {
      int8,
      axis,
      perAxis: true,
      stored: mode === 'int8' ? storedWeight(ctx, perm) : undefined,
    });
    const bias = biasTensor(ctx, 2, o, inputQ(ctx), mode === 'int8' ? weight.scales : undefined);
    const out = e.define(node.outputs[0]!, mode, NHWC);
    if (depthwise) {
      const fields = [byte(0, pad.mode), int(1, strides[1]!), int(2, strides[0]!), int(3, o / x[1]!), byte(4, fusedActivation(node)), int(5, dil[1]!), int(6, dil[0]!)];
      e.emit('DEPTHWISE_CONV_2D', [input, weight.index, bias], [out], { name: 'DepthwiseConv2DOptions', fields }, { perChannel: true, dilated: dil.some((d) => d !== 1) });
    } else {
      const fields = [byte(0, pad.mode), int(1, strides[1]!), int(2, strides[0]!), byte(3, fusedActivation(node)), int(4, dil[1]!), int(5, dil[0]!)];
      e.emit('CONV_2D', [input, weight.index, bias], [out], { name: 'Conv2DOptions', fields }, { perChannel: true });
    }
  },
};

const convTranspose: Lowering = {
  check(node, ctx) {
    const out = [...rank4(node, ctx), ...needConstants(node, ctx, [1, 2], 'weight/bias')];
    if (node.getInt('group', 1) !== 1) out.push(problem('unsupported-attribute', 'grouped ConvTranspose'));
    if ((node.getInts('dilations') ?? [1, 1]).some((d) => d !== 1)) out.push(problem('unsupported-attribute', 'dilated ConvTranspose'));
    if ((node.getInts('output_padding') ?? []).some((d) => d !== 0)) out.push(problem('unsupported-attribute', 'ConvTranspose output_padding'));
    const pads = node.getInts('pads') ?? [0, 0, 0, 0];
    if (node.getString('auto_pad', 'NOTSET') !== 'NOTSET' || pads.some((p) => p !== 0)) out.push(problem('unsupported-attribute', 'ConvTranspose with padding (only pads 0 are exported)'));
    return out;
  },
  lower(ctx) {
    const { e, node, mode } = ctx;
    const w = ctx.constant(1)!;
    const [, o, kh, kw] = w.dims as [number, number, number, number];
    const strides = node.getInts('strides') ?? [1, 1];
    const outShape = e.shapeOf(node.outputs[0]!);
    const input = e.readAs(node.inputs[0]!, mode, 'nhwc');
    const weight = e.weight(node.inputs[1]!, transposeData(w.data, w.dims, DECONV_WEIGHT_PERM), [o, kh, kw, w.dims[0]!], { int8: mode === 'int8', axis: 0, perAxis: true });
    const bias = biasTensor(ctx, 2, o, inputQ(ctx), mode === 'int8' ? weight.scales : undefined);
    const shapeT = e.int32Const('output_shape', [outShape[0]!, outShape[2]!, outShape[3]!, outShape[1]!]);
    const out = e.define(node.outputs[0]!, mode, NHWC);
    const fields = [byte(0, VALID), int(1, strides[1]!), int(2, strides[0]!)];
    e.emit('TRANSPOSE_CONV', [shapeT, weight.index, input, bias], [out], { name: 'TransposeConvOptions', fields }, { hasBias: true });
  },
};

function pool(op: 'MAX_POOL_2D' | 'AVERAGE_POOL_2D'): Lowering {
  return {
    check(node, ctx) {
      const out = rank4(node, ctx);
      const x = ctx.shape(node.inputs[0]!);
      const k = node.getInts('kernel_shape') ?? [];
      if (node.getInt('ceil_mode', 0) !== 0) out.push(problem('unsupported-attribute', 'ceil_mode=1'));
      if ((node.getInts('dilations') ?? [1, 1]).some((d) => d !== 1)) out.push(problem('unsupported-attribute', 'dilated pooling'));
      if (x && x.length === 4 && k.length === 2) {
        const p = windowPadding(node, [x[2]!, x[3]!], [k[0]!, k[1]!]);
        if (typeof p === 'string') out.push(problem('unsupported-attribute', p));
        else if (p.explicit) out.push(problem('unsupported-attribute', `pads ${JSON.stringify(node.getInts('pads'))} match neither SAME nor VALID`));
        else if (op === 'AVERAGE_POOL_2D' && p.mode === 0 && node.getInt('count_include_pad', 0) === 1) out.push(problem('unsupported-attribute', 'count_include_pad=1 with padding'));
      }
      return out;
    },
    lower(ctx) {
      const { e, node, mode } = ctx;
      const k = node.getInts('kernel_shape')!;
      const strides = node.getInts('strides') ?? [1, 1];
      const pad = paddingOf(node, e.shapeOf(node.inputs[0]!), [k[0]!, k[1]!]);
      const input = e.readAs(node.inputs[0]!, mode, 'nhwc');
      const out = e.define(node.outputs[0]!, mode, NHWC, mode === 'int8' && op === 'MAX_POOL_2D' ? e.qparams.get(node.inputs[0]!) : undefined);
      const fields = [byte(0, pad.mode), int(1, strides[1]!), int(2, strides[0]!), int(3, k[1]!), int(4, k[0]!), byte(5, 0)];
      e.emit(op, [input], [out], { name: 'Pool2DOptions', fields });
    },
  };
}

function globalPool(op: 'MEAN' | 'REDUCE_MAX'): Lowering {
  return {
    check: rank4,
    lower(ctx) {
      const { e, node, mode } = ctx;
      const input = e.readAs(node.inputs[0]!, mode, 'nhwc');
      const axes = e.int32Const('axes', [1, 2]);
      const out = e.define(node.outputs[0]!, mode, NHWC);
      e.emit(op, [input, axes], [out], { name: 'ReducerOptions', fields: [{ slot: 0, kind: 'bool', value: true }] });
    },
  };
}

export const CONV_LOWERINGS: Record<string, Lowering> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('MAX_POOL_2D'),
  AveragePool: pool('AVERAGE_POOL_2D'),
  GlobalAveragePool: globalPool('MEAN'),
  GlobalMaxPool: globalPool('REDUCE_MAX'),
};

