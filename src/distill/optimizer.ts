/**
 * Optimizers for the student's variables: Adam (with decoupled weight decay, AdamW) and SGD
 * with momentum. Masks keep pruned weights exactly zero: a weight that is zero when training
 * starts is set back to zero after every update, so unstructured and N:M sparsity survive.
 */
import * as tf from '@tensorflow/tfjs';

export type OptimizerName = 'adam' | 'sgd';

export interface OptimizerOptions {
  name: OptimizerName;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** Decoupled weight decay per unit learning rate, on matrices and filters only. Default 0. */
  weightDecay?: number;
}

export class MaskedOptimizer {
  private step = 0;
  private readonly first: tf.Variable[];
  private readonly second: tf.Variable[];
  /** True where a weight may move; absent for tensors without zeros. */
  readonly masks: (tf.Tensor | undefined)[];

  constructor(private readonly vars: tf.Variable[], private readonly o: OptimizerOptions, keepZeros = true) {
    this.first = vars.map((p) => tf.variable(tf.zerosLike(p), false));
    this.second = o.name === 'adam' ? vars.map((p) => tf.variable(tf.zerosLike(p), false)) : [];
    this.masks = vars.map((p) =>
      tf.tidy(() => {
        if (!keepZeros) return undefined;
        const mask = p.notEqual(0);
        return mask.cast('float32').sum().dataSync()[0]! < p.size ? tf.keep(mask) : undefined;
      }),
    );
  }

  /** Zero weights at the start, counted over all variables (what the masks keep). */
  get maskedCount(): number {
    return this.masks.reduce((n, m) => n + (m ? m.size - tf.tidy(() => m.cast('float32').sum().dataSync()[0]!) : 0), 0);
  }

  apply(grads: tf.NamedTensorMap, lr: number): void {
    this.step++;
    const decay = this.o.weightDecay ?? 0;
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const g = grads[p.name];
        if (!g) return;
        const m = this.first[i]!;
        let update: tf.Tensor;
        if (this.o.name === 'adam') {
          const [b1, b2, eps] = [0.9, 0.999, 1e-8];
          const v = this.second[i]!;
          m.assign(m.mul(b1).add(g.mul(1 - b1)));
          v.assign(v.mul(b2).add(g.square().mul(1 - b2)));
          update = m.div(1 - b1 ** this.step).div(v.div(1 - b2 ** this.step).sqrt().add(eps));
        } else {
          m.assign(m.mul(this.o.momentum ?? 0.9).add(g));
          update = m;
        }
        if (decay > 0 && p.rank > 1) update = update.add(p.mul(decay));
        let next = p.sub(update.mul(lr));
        const mask = this.masks[i];
        // where(), not a product: a masked negative weight must come back +0, the bytes it had.
        if (mask) next = tf.where(mask, next, tf.zerosLike(next));
        p.assign(next);
      });
    });
  }

  dispose(): void {
    for (const t of [...this.first, ...this.second, ...this.masks]) t?.dispose();
  }
}
