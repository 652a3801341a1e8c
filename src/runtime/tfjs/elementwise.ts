/** Element-wise kernels: arithmetic with numpy broadcasting, unary math and activations. */
import * as tf from '@tensorflow/tfjs';
import type { KernelContext, KernelSpec, KernelTable } from './kernel.ts';
import { Value } from './value.ts';

/**
 * A unary op keeps the layout its input is held in: element-wise work does not care, and a
 * ReLU between a conv and a pool then costs no transpose.
 */
function unary(f: (t: tf.Tensor, ctx: KernelContext) => tf.Tensor): KernelSpec {
  return {
    run: (ctx) => {
      const v = ctx.value(0)!;
      const { t, layout } = v.held;
      return [new Value(f(t, ctx), v.dtype, layout)];
    },
  };
}

/**
 * Binary ops stay channels-last only when both sides are rank-4 values of one shape (a
 * residual Add); anything that broadcasts runs channels-first, where ONNX's broadcasting
 * rules apply as written.
 */
function binary(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): KernelSpec {
  return {
    run: (ctx) => {
      const a = ctx.value(0)!;
      const b = ctx.value(1)!;
      const sameShape = a.rank === 4 && b.rank === 4 && a.shape.every((d, i) => d === b.shape[i]);
      if (sameShape && (a.held.layout === 'nhwc' || b.held.layout === 'nhwc')) return [new Value(f(a.nhwc(), b.nhwc()), a.dtype, 'nhwc')];
      return [new Value(f(a.nchw(), b.nchw()), a.dtype)];
    },
  };
}

function clipBounds(ctx: KernelContext): [number, number] {
  if (ctx.opset < 11) return [ctx.node.getFloat('min', -Infinity), ctx.node.getFloat('max', Infinity)];
  return [ctx.numbers(1)?.[0] ?? -Infinity, ctx.numbers(2)?.[0] ?? Infinity];
}

const hardSigmoid = (t: tf.Tensor, alpha: number, beta: number) => t.mul(alpha).add(beta).clipByValue(0, 1);

/** GELU's exact form, x·Φ(x) with Φ from erf, or its tanh approximation. */
function gelu(t: tf.Tensor, approximate: string): tf.Tensor {
  if (approximate === 'tanh') {
    const inner = t.add(t.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return t.mul(0.5).mul(inner.tanh().add(1));
  }
  return t.mul(0.5).mul(t.mul(Math.SQRT1_2).erf().add(1));
}

export const ELEMENTWISE_KERNELS: KernelTable = {
  Add: binary((a, b) => tf.add(a, b)),
  Sub: binary((a, b) => tf.sub(a, b)),
  Mul: binary((a, b) => tf.mul(a, b)),
  Div: binary((a, b) => tf.div(a, b)),
  Max: binary((a, b) => tf.maximum(a, b)),
  Min: binary((a, b) => tf.minimum(a, b)),
  Pow: {
    // A constant exponent of 2 (the written-out LayerNormalization) is a square: its gradient
    // needs no log of the base.
    run: (ctx) => {
      const e = ctx.constant(1) ? ctx.numbers(1) : undefined;
      if (e && e.length === 1 && e[0] === 2) return [ctx.x(0).square()];
      return [tf.pow(ctx.x(0), ctx.x(1))];
    },
  },
  Sqrt: unary((t) => t.sqrt()),
  Exp: unary((t) => t.exp()),
  Log: unary((t) => t.log()),
  Neg: unary((t) => t.neg()),
  Abs: unary((t) => t.abs()),
  Reciprocal: unary((t) => t.reciprocal()),
  Erf: unary((t) => t.erf()),
  Relu: unary((t) => t.relu()),
  LeakyRelu: unary((t, ctx) => tf.leakyRelu(t, ctx.node.getFloat('alpha', 0.01))),
  Elu: unary((t, ctx) => {
    const alpha = ctx.node.getFloat('alpha', 1);
    // relu(x) + alpha·(exp(min(x, 0)) − 1): a where() on x > 0 would put Greater, which has no gradient, on the tape.
    return alpha === 1 ? t.elu() : t.relu().add(t.minimum(0).exp().sub(1).mul(alpha));
  }),
  Softplus: unary((t) => t.softplus()),
  Clip: unary((t, ctx) => {
    const [lo, hi] = clipBounds(ctx);
    return t.clipByValue(lo, hi);
  }),
  Sigmoid: unary((t) => t.sigmoid()),
  Tanh: unary((t) => t.tanh()),
  HardSigmoid: unary((t, ctx) => hardSigmoid(t, ctx.node.getFloat('alpha', 0.2), ctx.node.getFloat('beta', 0.5))),
  HardSwish: unary((t) => t.mul(hardSigmoid(t, 1 / 6, 0.5))),
  Gelu: unary((t, ctx) => gelu(t, ctx.node.getString('approximate', 'none'))),
  PRelu: {
    run: (ctx) => {
      const x = ctx.x(0);
      const slope = ctx.x(1);
      // relu(x) + slope·min(x, 0): differentiable in both x and slope.
      return [x.relu().add(x.minimum(0).mul(slope))];
    },
  },
  Softmax: {
    run: (ctx) => [softmaxLike(ctx, (t) => t.softmax())],
  },
  LogSoftmax: {
    run: (ctx) => [softmaxLike(ctx, (t) => t.logSoftmax())],
  },
};

/**
 * Softmax over one axis (opset ≥ 13, default -1), or over everything from `axis` on as one
 * flattened axis (opset < 13, default 1).
 */
function softmaxLike(ctx: KernelContext, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  const x = ctx.x(0);
  const rank = x.rank;
  if (ctx.opset < 13) {
    const axis = (ctx.node.getInt('axis', 1) + rank) % rank;
    const rows = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    return f(x.reshape([rows, -1])).reshape(x.shape);
  }
  const axis = (ctx.node.getInt('axis', -1) + rank) % rank;
  if (axis === rank - 1) return f(x);
  const perm = [...Array(rank).keys()];
  [perm[axis], perm[rank - 1]] = [perm[rank - 1]!, perm[axis]!];
  return f(x.transpose(perm)).transpose(perm);
}
