/**
 * Normalizations. BatchNormalization in train mode normalizes with the batch's statistics
 * and (when asked) moves the running ones toward them, as PyTorch does: the biased variance
 * normalizes, the unbiased one updates the running variance; ONNX's `momentum` (default
 * 0.9) is the weight of the old running value.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelContext, KernelTable } from './kernel.ts';
import { onHeap, type HeapCall } from './heap.ts';
import { Value } from './value.ts';

/**
 * A tensor seen as [outer, channels, inner]: channels-last has inner = 1, channels-first
 * outer = batch and inner = the spatial size.
 */
interface ChannelView {
  outer: number;
  c: number;
  inner: number;
}

/**
 * BatchNormalization with batch statistics, forward and backward as compiled loops over the
 * wasm heap (heap.ts: per channel Σa and Σa·b, and a·p + b·q + k): as tfjs ops it is a dozen
 * per-channel broadcasts and reductions, which the backend runs element by element.
 * Backward, with x̂ = (x − μ)/σ and M values per channel: dbias = Σ dy, dscale = Σ dy·x̂,
 * dx = scale/(σ·M) · (M·dy − dbias − x̂·dscale).
 */
function trainBatchNorm(x: tf.Tensor, scale: tf.Tensor, bias: tf.Tensor, channelAxis: number, eps: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  const shape = x.shape;
  const v: ChannelView = { outer: shape.slice(0, channelAxis).reduce((a, b) => a * b, 1), c: shape[channelAxis]!, inner: shape.slice(channelAxis + 1).reduce((a, b) => a * b, 1) };
  const { c } = v;
  const count = v.outer * v.inner;
  /** Float64 scratch slot i (c values each): byte offset. */
  const slot = (h: HeapCall, i: number) => h.scratch + i * c * 8;
  // The batch statistics enter the differentiated op as inputs with a zero gradient: its
  // backward already accounts for how they depend on x.
  const [mean, variance] = onHeap([x], [[c], [c]], 2 * c, (h) => {
    h.kernels.channelDots(h.ins[0]!, h.ins[0]!, v.outer, c, v.inner, slot(h, 0), slot(h, 1));
    const sums = h.f64(h.scratch, 2 * c);
    const [mu, sigma2] = [h.f32(h.outs[0]!, c), h.f32(h.outs[1]!, c)];
    for (let ch = 0; ch < c; ch++) {
      mu[ch] = sums[ch]! / count;
      sigma2[ch] = Math.max(sums[c + ch]! / count - (sums[ch]! / count) ** 2, 0);
    }
  });
  const f = tf.customGrad(((input: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, mu: tf.Tensor, sigma2: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y] = onHeap([input, gamma, beta, mu, sigma2], [shape], 3 * c, (h) => {
      const [g, b, m, s2] = h.ins.slice(1).map((p) => h.f32(p, c));
      const [a, zero, k] = [0, 1, 2].map((i) => h.f64(slot(h, i), c));
      for (let ch = 0; ch < c; ch++) {
        a[ch] = g![ch]! / Math.sqrt(s2![ch]! + eps);
        zero[ch] = 0;
        k[ch] = b![ch]! - m![ch]! * a[ch]!;
      }
      h.kernels.channelAffine(h.outs[0]!, h.ins[0]!, slot(h, 0), h.ins[0]!, slot(h, 1), slot(h, 2), v.outer, c, v.inner);
    });
    save([input, gamma, mu, sigma2]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        ...onHeap([dy, ...saved], [shape, [c], [c]], 5 * c, (h) => {
          const [dyp, xp] = h.ins;
          h.kernels.channelDots(dyp!, xp!, v.outer, c, v.inner, slot(h, 0), slot(h, 1));
          const [g, m, s2] = h.ins.slice(2).map((p) => h.f32(p, c));
          const [db, dyx, a, k2, k0] = [0, 1, 2, 3, 4].map((i) => h.f64(slot(h, i), c));
          const [dScale, dBias] = [h.f32(h.outs[1]!, c), h.f32(h.outs[2]!, c)];
          // dx = a·dy + k2·x + k0 per channel (x̂ written out): one pass.
          for (let ch = 0; ch < c; ch++) {
            const inv = 1 / Math.sqrt(s2![ch]! + eps);
            const ds = (dyx![ch]! - m![ch]! * db![ch]!) * inv;
            k2![ch] = (-g![ch]! * inv * inv * ds) / count;
            k0![ch] = (-g![ch]! * inv * db![ch]!) / count - k2![ch]! * m![ch]!;
            a![ch] = g![ch]! * inv;
            dScale[ch] = ds;
            dBias[ch] = db![ch]!;
          }
          h.kernels.channelAffine(h.outs[0]!, dyp!, slot(h, 2), xp!, slot(h, 3), slot(h, 4), v.outer, c, v.inner);
        }),
        tf.zerosLike(mu),
        tf.zerosLike(sigma2),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const y = f(x, scale, bias, mean!, variance!);
  return { y, mean: mean!, variance: variance! };
}

function batchNorm(ctx: KernelContext): Value {
  const v = ctx.value(0)!;
  // Rank-4 inputs stay in whichever layout they come in; the channel axis follows.
  const { t: x, layout } = v.rank === 4 ? v.held : { t: v.nchw(), layout: 'nchw' as const };
  const channelAxis = layout === 'nhwc' ? 3 : 1;
  const c = x.shape[channelAxis]!;
  const eps = ctx.node.getFloat('epsilon', 1e-5);
  if (ctx.training) {
    const { y, mean, variance } = trainBatchNorm(x, ctx.x(1), ctx.x(2), channelAxis, eps);
    const runningMean = ctx.stateVariable(3);
    const runningVar = ctx.stateVariable(4);
    if (ctx.updateStats && runningMean && runningVar) {
      const m = ctx.statsMomentum ?? ctx.node.getFloat('momentum', 0.9);
      const count = x.size / c;
      const unbiased = variance.mul(count / Math.max(count - 1, 1));
      // Not part of the loss: the tape records these ops but backprop never reaches them.
      runningMean.assign(tf.tidy(() => runningMean.mul(m).add(mean.mul(1 - m))));
      runningVar.assign(tf.tidy(() => runningVar.mul(m).add(unbiased.mul(1 - m))));
    }
    return new Value(y, 'float32', layout);
  }
  const perChannel = (t: tf.Tensor) => (layout === 'nhwc' ? t : t.reshape([c, ...Array(x.rank - 2).fill(1)]));
  const scale = perChannel(ctx.x(1));
  const bias = perChannel(ctx.x(2));
  const mean = perChannel(ctx.x(3));
  const variance = perChannel(ctx.x(4));
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
