/**
 * Convolutions. Run channels-last (tfjs's layout) on weights kept in ONNX's layout, so the
 * trained values write back unchanged: the weight is transposed inside the step and the
 * gradient flows back through that transpose. Dilation is expressed by spreading the
 * filter with zeros (the wasm backend's gradient kernels handle undilated filters only),
 * groups by depthwise convolution or by splitting channels, 1-D as 2-D with height 1.
 */
import * as tf from '@tensorflow/tfjs';
import type { Node } from '../../ir/node.ts';
import type { KernelContext, KernelTable } from './kernel.ts';
import { checkSpatial, spatialAttrs, spatialRank, type Spatial } from './spatial.ts';
import { Value } from './value.ts';

type Pads = [[number, number], [number, number], [number, number], [number, number]];

/** Inserts d-1 zeros between filter taps: [kh,kw,i,o] -> [(kh-1)*dh+1, (kw-1)*dw+1, i, o]. */
function dilate(f: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  if (dh === 1 && dw === 1) return f;
  const [kh, kw, i, o] = f.shape;
  return f
    .reshape([kh, 1, kw, 1, i, o])
    .pad([[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]])
    .reshape([kh * dh, kw * dw, i, o])
    .slice([0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, i, o]) as tf.Tensor4D;
}

/** Channels-last input of a 1-D or 2-D op: [n, h, w, c] (h = 1 for 1-D). */
export function spatialInput(ctx: KernelContext): { x: tf.Tensor4D; rank: 1 | 2 } {
  const v = ctx.value(0)!;
  const rank = spatialRank(v.rank);
  if (!rank) throw new Error(`${ctx.node.label}: input of rank ${v.rank}`);
  if (rank === 2) return { x: v.nhwc(), rank };
  const [n, c, l] = v.shape as [number, number, number];
  return { x: v.nchw().transpose([0, 2, 1]).reshape([n, 1, l, c]), rank };
}

/** A channels-last result back as a Value: rank-4 stays channels-last, 1-D returns to [n, c, l]. */
export function spatialOutput(y: tf.Tensor4D, rank: 1 | 2): Value {
  if (rank === 2) return new Value(y, 'float32', 'nhwc');
  const [n, , l, c] = y.shape;
  return new Value(y.reshape([n, l, c]).transpose([0, 2, 1]));
}

function explicit(s: Spatial): Pads {
  return [[0, 0], [s.pads[0], s.pads[1]], [s.pads[2], s.pads[3]], [0, 0]];
}

function conv(ctx: KernelContext): Value {
  const { x, rank } = spatialInput(ctx);
  const w = ctx.x(1);
  const [o, ipg] = w.shape as [number, number];
  const kernel: [number, number] = rank === 1 ? [1, w.shape[2]!] : [w.shape[2]!, w.shape[3]!];
  const s = spatialAttrs(ctx.node, rank, x.shape[1], x.shape[2], kernel);
  const group = ctx.node.getInt('group', 1);
  const c = x.shape[3];
  // [o, i/g, kh, kw] -> [kh, kw, i/g, o]
  const filter = dilate(w.reshape([o, ipg, ...kernel]).transpose([2, 3, 1, 0]) as tf.Tensor4D, ...s.dilations);
  const pads = explicit(s);
  let y: tf.Tensor4D;
  if (group === 1) {
    y = tf.conv2d(x, filter, s.strides, pads);
  } else if (ipg === 1 && group === c) {
    // Depthwise: ONNX output channel c*m+q is tfjs's channel c, multiplier q.
    const m = o / c;
    const dw = filter.reshape([filter.shape[0], filter.shape[1], c, m]) as tf.Tensor4D;
    y = tf.depthwiseConv2d(x, dw, s.strides, pads);
  } else {
    const opg = o / group;
    const parts = tf.split(x, group, 3).map((xi, g) => tf.conv2d(xi as tf.Tensor4D, filter.slice([0, 0, 0, g * opg], [-1, -1, -1, opg]) as tf.Tensor4D, s.strides, pads));
    y = tf.concat(parts, 3);
  }
  const b = ctx.value(2);
  if (b) y = y.add(b.nchw());
  return spatialOutput(y, rank);
}

/**
 * ConvTranspose = the input gradient of a convolution: run unpadded, then grow the bottom and
 * right by output_padding (never reached by any tap: zeros) and crop `pads` off the result.
 */
function convTranspose(ctx: KernelContext): Value {
  const { x, rank } = spatialInput(ctx);
  const w = ctx.x(1); // [c_in, c_out, kh, kw]
  const [ci, co] = w.shape as [number, number];
  const kernel: [number, number] = rank === 1 ? [1, w.shape[2]!] : [w.shape[2]!, w.shape[3]!];
  const s = spatialAttrs(ctx.node, rank, x.shape[1], x.shape[2], kernel);
  const filter = w.reshape([ci, co, ...kernel]).transpose([2, 3, 1, 0]) as tf.Tensor4D; // [kh, kw, c_out, c_in]
  const [n, h, wd] = x.shape;
  const full: [number, number, number, number] = [n, (h - 1) * s.strides[0] + kernel[0], (wd - 1) * s.strides[1] + kernel[1], co];
  let y = tf.conv2dTranspose(x, filter, full, s.strides, 'valid');
  const op = ctx.node.getInts('output_padding') ?? [];
  const [opH, opW] = rank === 1 ? [0, op[0] ?? 0] : [op[0] ?? 0, op[1] ?? 0];
  if (opH || opW) y = y.pad([[0, 0], [0, opH], [0, opW], [0, 0]]);
  const [t, bottom, l, r] = s.pads;
  y = y.slice([0, t, l, 0], [n, y.shape[1] - t - bottom, y.shape[2] - l - r, co]);
  const b = ctx.value(2);
  if (b) y = y.add(b.nchw());
  return spatialOutput(y, rank);
}

function checkConvTranspose(node: Node): string | undefined {
  if (node.getInt('group', 1) !== 1) return 'grouped ConvTranspose is not supported';
  if ((node.getInts('dilations') ?? []).some((d) => d !== 1)) return 'dilated ConvTranspose is not supported';
  if (node.getInts('output_shape')) return 'ConvTranspose with output_shape is not supported (use pads)';
  const auto = node.getString('auto_pad', 'NOTSET');
  if (auto !== 'NOTSET' && auto !== 'VALID') return `ConvTranspose auto_pad ${auto} is not supported`;
  return checkSpatial(node);
}

export const CONV_KERNELS: KernelTable = {
  Conv: { run: (ctx) => [conv(ctx)], check: checkSpatial },
  ConvTranspose: { run: (ctx) => [convTranspose(ctx)], check: checkConvTranspose },
};
