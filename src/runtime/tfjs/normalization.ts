/**
 * Normalizations. BatchNormalization in train mode normalizes with the batch's statistics
 * and (when asked) moves the running ones toward them, as PyTorch does: the biased variance
 * normalizes, the unbiased one updates the running variance; ONNX's `momentum` (default
 * 0.9) is the weight of the old running value.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelContext, KernelTable } from './kernel.ts';
import { Value } from './value.ts';

function batchNorm(ctx: KernelContext): Value {
  const v = ctx.value(0)!;
  // Rank-4 inputs stay in whichever layout they come in; the channel axis follows.
  const { t: x, layout } = v.rank === 4 ? v.held : { t: v.nchw(), layout: 'nchw' as const };
  const channelAxis = layout === 'nhwc' ? 3 : 1;
  const c = x.shape[channelAxis]!;
  const perChannel = (t: tf.Tensor) => (layout === 'nhwc' ? t : t.reshape([c, ...Array(x.rank - 2).fill(1)]));
  const eps = ctx.node.getFloat('epsilon', 1e-5);
  const scale = perChannel(ctx.x(1));
  const bias = perChannel(ctx.x(2));
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (ctx.training) {
    const axes = [...Array(x.rank).keys()].filter((a) => a !== channelAxis);
    const moments = tf.moments(x, axes, true);
    mean = moments.mean;
    variance = moments.variance;
    const runningMean = ctx.stateVariable(3);
    const runningVar = ctx.stateVariable(4);
    if (ctx.updateStats && runningMean && runningVar) {
      const m = ctx.node.getFloat('momentum', 0.9);
      const count = x.size / c;
      const unbiased = variance.reshape([c]).mul(count / Math.max(count - 1, 1));
      // Not part of the loss: the tape records these ops but backprop never reaches them.
      runningMean.assign(tf.tidy(() => runningMean.mul(m).add(mean.reshape([c]).mul(1 - m))));
      runningVar.assign(tf.tidy(() => runningVar.mul(m).add(unbiased.mul(1 - m))));
    }
  } else {
    mean = perChannel(ctx.x(3));
    variance = perChannel(ctx.x(4));
  }
  // y = x·a + b with per-channel a = scale/√(var+ε), b = bias − mean·a: two passes over the
  // feature map instead of four (the per-channel math is tiny).
  const a = variance.add(eps).rsqrt().mul(scale);
  const y = x.mul(a).add(bias.sub(mean.mul(a)));
  return new Value(y, 'float32', layout);
}

/** Normalizes over the axes from `axis` to the end; scale and bias broadcast over them. */
function layerNorm(ctx: KernelContext): tf.Tensor {
  const x = ctx.x(0);
  const axis = (ctx.node.getInt('axis', -1) + x.rank) % x.rank;
  const axes = [...Array(x.rank).keys()].slice(axis);
  const eps = ctx.node.getFloat('epsilon', 1e-5);
  const { mean, variance } = tf.moments(x, axes, true);
  let y = x.sub(mean).mul(variance.add(eps).rsqrt()).mul(ctx.x(1));
  const b = ctx.value(2);
  if (b) y = y.add(b.nchw());
  return y;
}

export const NORMALIZATION_KERNELS: KernelTable = {
  BatchNormalization: {
    run: (ctx: KernelContext) => [batchNorm(ctx)],
    check: (node) => (node.outputs.slice(1).some(Boolean) ? 'BatchNormalization running-stat outputs are not supported' : undefined),
  },
  LayerNormalization: {
    run: (ctx) => [layerNorm(ctx)],
    check: (node) => (node.outputs.slice(1).some(Boolean) ? 'LayerNormalization mean/inv-std outputs are not supported' : undefined),
  },
};
