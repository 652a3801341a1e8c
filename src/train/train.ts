/**
 * Supervised training of a Net on an in-memory labelled split: Adam with decoupled weight
 * decay and a cosine learning-rate schedule (distillation's optimizer and schedule), seeded shuffling and optional random shifts.
 * Deterministic given the seed (the wasm backend runs single-threaded).
 */
import * as tf from '@tensorflow/tfjs';
import { loadSamples, type Samples } from '../distill/data.ts';
import { MaskedOptimizer } from '../distill/optimizer.ts';
import { learningRateAt } from '../distill/schedule.ts';
import { InputError } from '../errors.ts';
import { AccuracyMeter } from '../report/metrics.ts';
import { Seeded } from './backend.ts';
import type { Net } from './net.ts';

/** Samples with their class labels. */
export type Labelled = Samples & { y: Int32Array };

/** Reads a whole labelled data set (an npz with x and y, ...) into memory: distillation's loader, labels required. */
export async function loadLabelled(path: string): Promise<Labelled> {
  const s = await loadSamples(path);
  if (!s.y) throw new InputError(`${path}: no labels (y): training from scratch needs them`);
  return { ...s, y: s.y };
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  /** Peak learning rate; decays to 0 along a cosine over all steps. */
  learningRate: number;
  /** Decoupled (AdamW) weight decay per unit learning rate. Default 0. */
  weightDecay?: number;
  /** Translate [C,H,W] images by up to this many pixels, zero-filled. Default 0. */
  maxShift?: number;
  seed: number;
  onEpoch?: (report: { epoch: number; loss: number; seconds: number }) => void;
}

/** Copies the samples at `rows` into one batch, each shifted by a random (dy, dx) if asked. */
export function gatherBatch(data: Labelled, rows: number[], maxShift: number, rng: Seeded): { x: Float32Array; y: Int32Array } {
  if (maxShift > 0 && data.sampleShape.length !== 3) throw new Error(`random shifts need [C,H,W] samples, not [${data.sampleShape.join(',')}]`);
  const [c = 1, h = 1, w = 1] = data.sampleShape;
  const per = data.x.length / data.length;
  const x = new Float32Array(rows.length * per);
  const y = Int32Array.from(rows, (r) => data.y[r]!);
  rows.forEach((r, i) => {
    const src = data.x.subarray(r * per, (r + 1) * per);
    const dst = x.subarray(i * per, (i + 1) * per);
    if (maxShift === 0) return dst.set(src);
    const span = 2 * maxShift + 1;
    const dy = Math.floor(rng.uniform() * span) - maxShift;
    const dx = Math.floor(rng.uniform() * span) - maxShift;
    for (let ch = 0; ch < c; ch++) {
      for (let row = Math.max(0, dy); row < Math.min(h, h + dy); row++) {
        const from = ch * h * w + (row - dy) * w;
        const to = ch * h * w + row * w;
        dst.set(src.subarray(from + Math.max(0, -dx), from + w - Math.max(0, dx)), to + Math.max(0, dx));
      }
    }
  });
  return { x, y };
}

/** Trains `net` in place; returns the wall time in seconds. */
export function fit(net: Net, data: Labelled, o: FitOptions): number {
  const rng = new Seeded(o.seed);
  // Masks off: a from-scratch net has no pruned zeros to keep.
  const optimizer = new MaskedOptimizer(net.trainable, { name: 'adam', weightDecay: o.weightDecay ?? 0 }, false);
  const stepsPerEpoch = Math.floor(data.length / o.batchSize);
  const schedule = { schedule: 'cosine' as const, learningRate: o.learningRate, totalSteps: o.epochs * stepsPerEpoch, stepsPerEpoch };
  const start = performance.now();
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = rng.permutation(data.length);
      let lossSum = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const batch = gatherBatch(data, order.slice(s * o.batchSize, (s + 1) * o.batchSize), o.maxShift ?? 0, rng);
        const lr = learningRateAt(schedule, epoch * stepsPerEpoch + s);
        const loss = tf.tidy(() => {
          const x = tf.tensor(batch.x, [o.batchSize, ...data.sampleShape]);
          const labels = tf.oneHot(tf.tensor1d(batch.y, 'int32'), net.classes);
          const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, net.forward(x, true)) as tf.Scalar, net.trainable);
          optimizer.apply(grads, lr);
          return value.dataSync()[0]!;
        });
        lossSum += loss;
      }
      o.onEpoch?.({ epoch: epoch + 1, loss: lossSum / stepsPerEpoch, seconds: (performance.now() - start) / 1000 });
    }
  } finally {
    optimizer.dispose();
  }
  return (performance.now() - start) / 1000;
}

/** Top-1 accuracy (fraction) of `net` in inference mode. */
export function accuracy(net: Net, data: Labelled, batchSize = 500): number {
  const meter = new AccuracyMeter();
  const per = data.x.length / data.length;
  for (let start = 0; start < data.length; start += batchSize) {
    const n = Math.min(batchSize, data.length - start);
    const logits = tf.tidy(() => net.forward(tf.tensor(data.x.subarray(start * per, (start + n) * per), [n, ...data.sampleShape]), false).dataSync());
    meter.add(logits, data.y.subarray(start, start + n));
  }
  return meter.result().top1;
}
