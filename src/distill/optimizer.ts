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

/**
 * The state and the update run on all variables at once, as one flat vector: a training step
 * of a small model is dominated by the fixed cost of each backend call, and per-variable
 * updates made ~200 calls per step where the flat form makes ~40.
 */
export class MaskedOptimizer {
  private step = 0;
  private readonly first: tf.Variable;
  private readonly second?: tf.Variable;
  /** 1 where weight decay applies (matrices and filters), per flat element; absent without decay. */
  private readonly decayed?: tf.Tensor;
  /** True where a weight may move, per flat element; absent when no variable has zeros. */
  private readonly mask?: tf.Tensor;
  private readonly sizes: number[];

  constructor(private readonly vars: tf.Variable[], private readonly o: OptimizerOptions, keepZeros = true) {
    this.sizes = vars.map((p) => p.size);
    const total = this.sizes.reduce((a, b) => a + b, 0);
    this.first = tf.variable(tf.zeros([total]), false);
    if (o.name === 'adam') this.second = tf.variable(tf.zeros([total]), false);
    if ((o.weightDecay ?? 0) > 0) this.decayed = tf.keep(tf.concat(vars.map((p) => tf.fill([p.size], p.rank > 1 ? 1 : 0))));
    if (keepZeros && vars.length > 0) {
      const mask = tf.tidy(() => this.flat(vars).notEqual(0));
      if (tf.tidy(() => mask.cast('float32').sum().dataSync()[0]!) < total) this.mask = mask;
      else mask.dispose();
    }
  }

  private flat(tensors: tf.Tensor[]): tf.Tensor1D {
    return tf.concat(tensors.map((t) => t.reshape([t.size]))) as tf.Tensor1D;
  }

  /** Zero weights at the start, counted over all variables (what the mask keeps). */
  get maskedCount(): number {
    return this.mask ? this.mask.size - tf.tidy(() => this.mask!.cast('float32').sum().dataSync()[0]!) : 0;
  }

  apply(grads: tf.NamedTensorMap, lr: number): void {
    if (this.vars.length === 0) return;
    this.step++;
    tf.tidy(() => {
      // A variable the loss does not reach gets a zero gradient: its moments stay zero, so only weight decay moves it.
      const g = this.flat(this.vars.map((p) => grads[p.name] ?? tf.zerosLike(p)));
      const m = this.first;
      let update: tf.Tensor;
      if (this.second) {
        const [b1, b2, eps] = [0.9, 0.999, 1e-8];
        const v = this.second;
        m.assign(m.mul(b1).add(g.mul(1 - b1)));
        v.assign(v.mul(b2).add(g.square().mul(1 - b2)));
        update = m.div(1 - b1 ** this.step).div(v.div(1 - b2 ** this.step).sqrt().add(eps));
      } else {
        m.assign(m.mul(this.o.momentum ?? 0.9).add(g));
        update = m;
      }
      const params = this.flat(this.vars);
      if (this.decayed) update = update.add(params.mul(this.decayed).mul(this.o.weightDecay!));
      let next = params.sub(update.mul(lr));
      // where(), not a product: a masked negative weight must come back +0, the bytes it had.
      if (this.mask) next = tf.where(this.mask, next, tf.zerosLike(next));
      tf.split(next, this.sizes).forEach((part, i) => this.vars[i]!.assign(part.reshape(this.vars[i]!.shape)));
    });
  }

  dispose(): void {
    for (const t of [this.first, this.second, this.decayed, this.mask]) t?.dispose();
  }
}
