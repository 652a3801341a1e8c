/**
 * Pools, channels-last. Padding is made explicit before pooling 'valid' (tfjs pools take no
 * asymmetric pads): -inf around a max pool; for an average pool, the sum of the padded input
 * divided by the sum of a ones mask padded the same way, so count_include_pad and ceil_mode
 * come out as ONNX defines them.
 */
import * as tf from '@tensorflow/tfjs';
import type { Node } from '../../ir/node.ts';
import { spatialInput, spatialOutput } from './conv.ts';
import type { KernelContext, KernelTable } from './kernel.ts';
import { onHeap } from './heap.ts';
import { checkSpatial, spatialAttrs, type Spatial } from './spatial.ts';
import { Value } from './value.ts';

/** Extra rows/columns at the end that ceil_mode adds so the last partial window is kept. */
function ceilExtra(size: number, k: number, s: number, before: number, after: number, ceil: boolean): number {
  const span = size + before + after - k;
  if (!ceil || span % s === 0) return 0;
  let out = Math.ceil(span / s) + 1;
  // A window must start inside the input or its left padding (ONNX, as PyTorch).
  if ((out - 1) * s >= size + before) out--;
  return Math.max(0, (out - 1) * s + k - (size + before + after));
}

function setup(ctx: KernelContext): { x: tf.Tensor4D; rank: 1 | 2; s: Spatial; pads: [[number, number], [number, number]]; extra: [number, number] } {
  const { x, rank } = spatialInput(ctx);
  const k = ctx.node.getInts('kernel_shape')!;
  const kernel: [number, number] = rank === 1 ? [1, k[0]!] : [k[0]!, k[1]!];
  const s = spatialAttrs(ctx.node, rank, x.shape[1], x.shape[2], kernel);
  const ceil = ctx.node.getInt('ceil_mode', 0) === 1;
  const extra: [number, number] = [
    ceilExtra(x.shape[1], kernel[0], s.strides[0], s.pads[0], s.pads[1], ceil),
    ceilExtra(x.shape[2], kernel[1], s.strides[1], s.pads[2], s.pads[3], ceil),
  ];
  return { x, rank, s, pads: [[s.pads[0], s.pads[1] + extra[0]], [s.pads[2], s.pads[3] + extra[1]]], extra };
}

const padded = (t: tf.Tensor4D, pads: [[number, number], [number, number]], value: number): tf.Tensor4D =>
  pads.flat().some((p) => p > 0) ? t.pad([[0, 0], pads[0], pads[1], [0, 0]], value) : t;

/**
 * A non-overlapping max pool (stride = kernel): the backend's pool forward; backward, one
 * compiled pass over the input (heap.ts) sends each window's dy to the first position
 * (row-major window order, as in onnxruntime and PyTorch) holding the window's maximum, where
 * the same rule as tfjs ops (compare with the upsampled maximum, rank the ties, pick the
 * first) took a dozen full-size element-wise ops.
 */
function blockMax(x: tf.Tensor4D, kh: number, kw: number): tf.Tensor4D {
  const pool = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.maxPool(input as tf.Tensor4D, [kh, kw], [kh, kw], 'valid');
    save([input, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xs, ys]: tf.Tensor[]) =>
        onHeap([xs!, ys!, dy], [x.shape], 0, ({ ins: [xp, yp, dyp], outs: [dx], kernels }) => kernels.blockMaxGrad(xp!, yp!, dyp!, dx!, ...x.shape, kh, kw))[0]!,
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return pool(x) as tf.Tensor4D;
}

function maxPool(ctx: KernelContext): Value {
  const { x, rank, s, pads } = setup(ctx);
  const input = padded(x, pads, -Infinity);
  if (s.strides[0] === s.kernel[0] && s.strides[1] === s.kernel[1]) return spatialOutput(blockMax(input, ...s.kernel), rank);
  return spatialOutput(tf.maxPool<tf.Tensor4D>(input, s.kernel, s.strides, 'valid'), rank);
}

function averagePool(ctx: KernelContext): Value {
  const { x, rank, s, pads, extra } = setup(ctx);
  const area = s.kernel[0] * s.kernel[1];
  const sum = tf.avgPool<tf.Tensor4D>(padded(x, pads, 0), s.kernel, s.strides, 'valid').mul(area) as tf.Tensor4D;
  if (pads.flat().every((p) => p === 0)) return spatialOutput(sum.div(area) as tf.Tensor4D, rank);
  // Count the cells each window averages: explicit pads count only with count_include_pad.
  const include = ctx.node.getInt('count_include_pad', 0) === 1;
  const [t, b, l, r] = s.pads;
  const ones = tf.ones([1, x.shape[1], x.shape[2], 1]) as tf.Tensor4D;
  let mask: tf.Tensor4D = include ? ones.pad([[0, 0], [t, b], [l, r], [0, 0]], 1) : ones.pad([[0, 0], [t, b], [l, r], [0, 0]]);
  mask = mask.pad([[0, 0], [0, extra[0]], [0, extra[1]], [0, 0]]);
  const count = tf.avgPool<tf.Tensor4D>(mask, s.kernel, s.strides, 'valid').mul(area);
  return spatialOutput(sum.div(count) as tf.Tensor4D, rank);
}

function checkPool(node: Node): string | undefined {
  if (!node.getInts('kernel_shape')) return `${node.opType} without kernel_shape`;
  if ((node.getInts('dilations') ?? []).some((d) => d !== 1)) return `dilated ${node.opType} is not supported`;
  if (node.outputs.length > 1 && node.outputs[1]) return 'MaxPool indices output is not supported';
  if (node.getInt('storage_order', 0) !== 0) return 'MaxPool storage_order 1 is not supported';
  return checkSpatial(node);
}

/** Global pools reduce every spatial axis; rank-4 inputs stay channels-last. */
function globalPool(ctx: KernelContext, reduce: (t: tf.Tensor, axes: number[]) => tf.Tensor): Value {
  const v = ctx.value(0)!;
  if (v.rank === 4) return new Value(reduce(v.nhwc(), [1, 2]), 'float32', 'nhwc');
  const axes = [...Array(v.rank).keys()].slice(2);
  return new Value(reduce(v.nchw(), axes));
}

export const POOL_KERNELS: KernelTable = {
  MaxPool: { run: (ctx) => [maxPool(ctx)], check: checkPool },
  AveragePool: { run: (ctx) => [averagePool(ctx)], check: checkPool },
  GlobalAveragePool: { run: (ctx) => [globalPool(ctx, (t, axes) => t.mean(axes, true))] },
  GlobalMaxPool: { run: (ctx) => [globalPool(ctx, (t, axes) => t.max(axes, true))] },
};
