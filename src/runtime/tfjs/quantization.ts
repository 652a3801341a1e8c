/**
 * QuantizeLinear / DequantizeLinear as fake quantization. Integer values travel as float32
 * tensors holding whole numbers; rounding passes the gradient straight through (STE) and the
 * clamp to the integer range zeroes it outside. An int8 weight read by DequantizeLinear is
 * trained as a float "shadow" (its dequantized values) that is quantized again in every
 * forward, so the step sees exactly the int8 weight onnxruntime would.
 */
import * as tf from '@tensorflow/tfjs';
import type { DType } from '../../onnx/dtype.ts';
import { dtypeFromCode } from '../../onnx/dtype.ts';
import type { KernelContext, KernelTable } from './kernel.ts';
import { Value } from './value.ts';

export const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
};

/** round(t) in the forward, identity in the backward (banker's rounding, as ONNX). */
export const roundSte: (t: tf.Tensor) => tf.Tensor = tf.customGrad((t) => ({ value: (t as tf.Tensor).round(), gradFunc: (dy: tf.Tensor) => dy }) as never) as never;

/** A per-axis parameter (scale, zero point) shaped to broadcast along `axis` of a rank-`rank` tensor. */
function alongAxis(p: tf.Tensor, axis: number, rank: number): tf.Tensor {
  if (p.size === 1) return p.reshape([]);
  const shape = Array(rank).fill(1);
  shape[(axis + rank) % rank] = p.size;
  return p.reshape(shape);
}

interface Params {
  scale: tf.Tensor;
  zeroPoint: tf.Tensor;
  range: [number, number];
  dtype: DType;
}

function params(ctx: KernelContext, rank: number, dtype: DType): Params {
  const axis = ctx.node.getInt('axis', 1);
  if (ctx.node.attr('block_size') && ctx.node.getInt('block_size', 0) !== 0) throw new Error(`${ctx.node.label}: blocked quantization is not supported`);
  // Scales and zero points are constants: no gradient is asked of them.
  const scale = alongAxis(ctx.x(1), axis, rank);
  const zp = ctx.value(2);
  const zeroPoint = zp ? alongAxis(zp.nchw().cast('float32'), axis, rank) : tf.scalar(0);
  const range = INT_RANGE[dtype];
  if (!range) throw new Error(`${ctx.node.label}: ${dtype} quantization is not supported`);
  return { scale, zeroPoint, range, dtype };
}

/** q = clamp(round(x / scale) + zp) with a straight-through round. */
export function fakeQuantize(x: tf.Tensor, p: Params): tf.Tensor {
  return roundSte(x.div(p.scale)).add(p.zeroPoint).clipByValue(p.range[0], p.range[1]);
}

function outputDtype(ctx: KernelContext): DType {
  const zp = ctx.value(2);
  if (zp) return zp.dtype;
  return dtypeFromCode(ctx.node.getInt('output_dtype', 0)) ?? 'uint8';
}

function quantize(ctx: KernelContext): Value {
  const x = ctx.x(0);
  const dtype = outputDtype(ctx);
  return new Value(fakeQuantize(x, params(ctx, x.rank, dtype)), dtype);
}

function dequantize(ctx: KernelContext): tf.Tensor {
  const v = ctx.value(0)!;
  const x = v.nchw();
  const shadow = ctx.isShadow(0);
  const p = params(ctx, x.rank, shadow ? ctx.constant(0)!.dtype : v.dtype);
  const q = shadow ? fakeQuantize(x, p) : x.cast('float32');
  return q.sub(p.zeroPoint).mul(p.scale);
}

export const QUANTIZATION_KERNELS: KernelTable = {
  QuantizeLinear: { run: (ctx) => [quantize(ctx)] },
  DequantizeLinear: { run: (ctx) => [dequantize(ctx)] },
};

const roundHalfEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** A trained float shadow back to its integer weight: clamp(round(w / scale) + zp), per axis when the scale is. */
export function requantize(values: Float32Array, weight: { dtype: DType; dims: number[] }, scale: number[], zp: number[], axis: number): Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array {
  const range = INT_RANGE[weight.dtype];
  const Ctor = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array }[weight.dtype as 'int8'];
  if (!range || !Ctor) throw new Error(`cannot write a trained ${weight.dtype} weight back`);
  const a = (axis + weight.dims.length) % weight.dims.length;
  const inner = weight.dims.slice(a + 1).reduce((x, y) => x * y, 1);
  const channels = weight.dims[a]!;
  const out = new Ctor(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = scale.length > 1 ? Math.floor(i / inner) % channels : 0;
    const q = roundHalfEven(values[i]! / scale[c]!) + (zp.length > 1 ? zp[c]! : zp[0]!);
    out[i] = Math.min(Math.max(q, range[0]), range[1]);
  }
  return out;
}
