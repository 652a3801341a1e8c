/** Reductions: axes from the attribute (older opsets) or the second input (ReduceSum ≥ 13, the rest ≥ 18). */
import type * as tf from '@tensorflow/tfjs';
import type { KernelContext, KernelSpec, KernelTable } from './kernel.ts';

function reduction(inputFrom: number, f: (t: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor): KernelSpec {
  return {
    run: (ctx: KernelContext) => {
      const x = ctx.x(0);
      const given = ctx.opset >= inputFrom ? ctx.numbers(1) : ctx.node.getInts('axes');
      const keep = ctx.node.getInt('keepdims', 1) === 1;
      let axes = (given ?? []).map((a) => (a + x.rank) % x.rank);
      if (axes.length === 0) {
        if (ctx.node.getInt('noop_with_empty_axes', 0) === 1) return [x];
        axes = [...Array(x.rank).keys()];
      }
      return [f(x, axes, keep)];
    },
  };
}

export const REDUCE_KERNELS: KernelTable = {
  ReduceMean: reduction(18, (t, axes, keep) => t.mean(axes, keep)),
  ReduceSum: reduction(13, (t, axes, keep) => t.sum(axes, keep)),
};
