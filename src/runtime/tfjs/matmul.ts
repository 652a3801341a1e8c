/** Gemm and MatMul. A weight matrix applied to a batch of rows runs as one 2-D product (the wasm backend's fast path). */
import * as tf from '@tensorflow/tfjs';
import type { KernelContext, KernelTable } from './kernel.ts';

function gemm(ctx: KernelContext): tf.Tensor {
  const n = ctx.node;
  const alpha = n.getFloat('alpha', 1);
  const beta = n.getFloat('beta', 1);
  let y = tf.matMul(ctx.x(0), ctx.x(1), n.getInt('transA', 0) === 1, n.getInt('transB', 0) === 1);
  if (alpha !== 1) y = y.mul(alpha);
  const c = ctx.value(2);
  if (c) y = y.add(beta === 1 ? c.nchw() : c.nchw().mul(beta));
  return y;
}

/** numpy matmul: 1-D operands get a dimension added then removed; batch dims broadcast. */
function matMul(ctx: KernelContext): tf.Tensor {
  let a = ctx.x(0);
  let b = ctx.x(1);
  const aVec = a.rank === 1;
  const bVec = b.rank === 1;
  if (aVec) a = a.reshape([1, -1]);
  if (bVec) b = b.reshape([-1, 1]);
  let y: tf.Tensor;
  if (b.rank === 2 && a.rank > 2) {
    const rows = a.shape.slice(0, -1);
    y = tf.matMul(a.reshape([-1, a.shape[a.rank - 1]!]), b).reshape([...rows, b.shape[1]!]);
  } else {
    y = tf.matMul(a, b);
  }
  if (aVec) y = y.squeeze([y.rank - 2]);
  if (bVec) y = y.squeeze([y.rank - 1]);
  return y;
}

export const MATMUL_KERNELS: KernelTable = {
  Gemm: { run: (ctx) => [gemm(ctx)] },
  MatMul: { run: (ctx) => [matMul(ctx)] },
};
