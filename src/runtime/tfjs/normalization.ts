/**
 * Normalizations. BatchNormalization in train mode normalizes with the batch's statistics
 * and (when asked) moves the running ones toward them, as PyTorch does: the biased variance
 * normalizes, the unbiased one updates the running variance; ONNX's `momentum` (default
 * 0.9) is the weight of the old running value.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelContext, KernelTable } from './kernel.ts';
import { onHeap } from './heap.ts';
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

/** Per channel, Σ a[i] and Σ a[i]·b[i] (float64), read in memory order. */
function channelDots(v: ChannelView, a: Float32Array, b: Float32Array): { sumA: Float64Array; sumAB: Float64Array } {
  const sumA = new Float64Array(v.c);
  const sumAB = new Float64Array(v.c);
  for (let o = 0, i = 0; o < v.outer; o++) {
    for (let ch = 0; ch < v.c; ch++) {
      let s = 0;
      let t = 0;
      for (let k = 0; k < v.inner; k++, i++) {
        s += a[i]!;
        t += a[i]! * b[i]!;
      }
      sumA[ch]! += s;
      sumAB[ch]! += t;
    }
  }
  return { sumA, sumAB };
}

/** out[i] = a[ch]·p[i] + b[ch]·q[i] + k[ch], in memory order. */
function channelAffine(v: ChannelView, out: Float32Array, p: Float32Array, a: Float64Array, q: Float32Array, b: Float64Array, k: Float64Array): void {
  for (let o = 0, i = 0; o < v.outer; o++) {
    for (let ch = 0; ch < v.c; ch++) {
      const ac = a[ch]!;
      const bc = b[ch]!;
      const kc = k[ch]!;
      for (let e = 0; e < v.inner; e++, i++) out[i] = ac * p[i]! + bc * q[i]! + kc;
    }
  }
}

/**
 * BatchNormalization with batch statistics, forward and backward written as loops over the
 * wasm heap (heap.ts): as tfjs ops it is a dozen per-channel broadcasts and reductions,
 * which the backend runs element by element. Backward, with x̂ = (x − μ)/σ and M values per
 * channel: dbias = Σ dy, dscale = Σ dy·x̂, dx = scale/(σ·M) · (M·dy − dbias − x̂·dscale).
 */
function trainBatchNorm(x: tf.Tensor, scale: tf.Tensor, bias: tf.Tensor, channelAxis: number, eps: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  const shape = x.shape;
  const v: ChannelView = { outer: shape.slice(0, channelAxis).reduce((a, b) => a * b, 1), c: shape[channelAxis]!, inner: shape.slice(channelAxis + 1).reduce((a, b) => a * b, 1) };
  const count = v.outer * v.inner;
  // The batch statistics enter the differentiated op as inputs with a zero gradient: its
  // backward already accounts for how they depend on x.
  const [mean, variance] = onHeap([x], [[v.c], [v.c]], ([xs], [mu, sigma2]) => {
    const { sumA, sumAB } = channelDots(v, xs!, xs!);
    for (let ch = 0; ch < v.c; ch++) {
      mu![ch] = sumA[ch]! / count;
      sigma2![ch] = Math.max(sumAB[ch]! / count - (sumA[ch]! / count) ** 2, 0);
    }
  });
  const f = tf.customGrad(((input: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, mu: tf.Tensor, sigma2: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y] = onHeap([input, gamma, beta, mu, sigma2], [shape], ([xs, g, b, m, s2], [out]) => {
      const a = Float64Array.from(g!, (gc, ch) => gc / Math.sqrt(s2![ch]! + eps));
      channelAffine(v, out!, xs!, a, xs!, new Float64Array(v.c), a.map((ac, ch) => b![ch]! - m![ch]! * ac));
    });
    save([input, gamma, mu, sigma2]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        ...onHeap([dy, ...saved], [shape, [v.c], [v.c]], ([dys, xs, g, m, s2], [dx, dScale, dBias]) => {
          const { sumA: db, sumAB: dyx } = channelDots(v, dys!, xs!);
          const inv = Float64Array.from(s2!, (s) => 1 / Math.sqrt(s + eps));
          const ds = inv.map((iv, ch) => (dyx[ch]! - m![ch]! * db[ch]!) * iv);
          // dx = k1·dy + k2·x + k0 per channel (x̂ written out): one pass.
          const k2 = inv.map((iv, ch) => (-g![ch]! * iv * iv * ds[ch]!) / count);
          const k0 = inv.map((iv, ch) => (-g![ch]! * iv * db[ch]!) / count - k2[ch]! * m![ch]!);
          channelAffine(v, dx!, dys!, inv.map((iv, ch) => g![ch]! * iv), xs!, k2, k0);
          dScale!.set(ds);
          dBias!.set(db);
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
      const m = ctx.node.getFloat('momentum', 0.9);
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
