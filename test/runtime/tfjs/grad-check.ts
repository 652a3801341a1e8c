/**
 * Test helper: checks a tiny graph on the tfjs executor against onnxruntime (forward) and
 * against finite differences (gradient). The loss is L = Σ y·r for a fixed random r; for
 * the input and for each trainable initializer, the gradient along a random direction v is
 * compared with the central difference (L(θ+εv) − L(θ−εv)) / 2ε, summed on the host in
 * float64. A directional check per tensor tests every gradient without one run per element.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { Model } from '../../../src/ir/model.ts';
import { Seeded } from '../../../src/train/backend.ts';
import { TrainableGraph } from '../../../src/runtime/tfjs/executor.ts';
import { runModel } from '../../helpers/run-model.ts';

export interface GradCase {
  model: Model;
  /** The graph input 'x' and its values. */
  x: Float32Array;
  dims: number[];
  /** Train mode (BatchNormalization batch statistics): no onnxruntime comparison. */
  training?: boolean;
  eps?: number;
}

export interface GradReport {
  forwardMaxAbs: number | undefined;
  /** Relative error per checked tensor ('x' and initializer names). */
  relErrors: Record<string, number>;
}

function lossOn(g: TrainableGraph, x: Float32Array, dims: number[], r: Float64Array, training: boolean): number {
  const y = tf.tidy(() => g.run({ x: tf.tensor(x, dims) }, { training, updateStats: false }).y!.nchw().dataSync() as Float32Array);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i]! * r[i]!;
  return sum;
}

export async function gradCheck(c: GradCase): Promise<GradReport> {
  const training = c.training ?? false;
  const eps = c.eps ?? 1e-2;
  const g = new TrainableGraph(c.model);
  try {
    const y = tf.tidy(() => g.run({ x: tf.tensor(c.x, c.dims) }, { training, updateStats: false }).y!.nchw().dataSync() as Float32Array);
    let forwardMaxAbs: number | undefined;
    if (!training) {
      const ref = (await runModel(c.model, { x: { data: c.x, dims: c.dims } })).y!;
      expect(ref.length).toBe(y.length);
      forwardMaxAbs = y.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i]!)), 0);
    }
    const rng = new Seeded(11);
    const r = Float64Array.from(rng.normals(y.length, 1));
    const rT = tf.tensor(Float32Array.from(r), [y.length]);
    const loss = (xT: tf.Tensor) => g.run({ x: xT }, { training, updateStats: false }).y!.nchw().reshape([-1]).mul(rT).sum() as tf.Scalar;
    const xT = tf.tensor(c.x, c.dims);
    const dx = tf.tidy(() => tf.grad(loss)(xT).dataSync() as Float32Array);
    const named = [...g.params];
    const dp = named.length === 0 ? [] : tf.tidy(() => {
      const { grads } = tf.variableGrads(() => loss(xT), named.map(([, v]) => v));
      return named.map(([, v]) => grads[v.name]!.dataSync() as Float32Array);
    });
    const relErrors: Record<string, number> = {};
    const directional = (grad: Float32Array, at: (delta: Float32Array) => number): number => {
      const v = rng.normals(grad.length, 1);
      const an = grad.reduce((s, gi, i) => s + gi * v[i]!, 0);
      const fd = (at(v.map((vi) => vi * eps)) - at(v.map((vi) => -vi * eps))) / (2 * eps);
      return Math.abs(fd - an) / Math.max(Math.abs(fd), Math.abs(an), 1e-6);
    };
    relErrors.x = directional(dx, (d) => lossOn(g, c.x.map((xi, i) => xi + d[i]!), c.dims, r, training));
    named.forEach(([name, variable], k) => {
      const base = variable.dataSync().slice() as Float32Array;
      relErrors[name] = directional(dp[k]!, (d) => {
        variable.assign(tf.tensor(base.map((b, i) => b + d[i]!), variable.shape));
        const l = lossOn(g, c.x, c.dims, r, training);
        variable.assign(tf.tensor(base, variable.shape));
        return l;
      });
    });
    xT.dispose();
    rT.dispose();
    return { forwardMaxAbs, relErrors };
  } finally {
    g.dispose();
  }
}
