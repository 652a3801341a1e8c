/**
 * Knowledge distillation on the ONNX graph itself: the student runs in the tfjs executor
 * (train mode), the teacher in onnxruntime; the loss mixes the teacher's softened outputs
 * with the labels when there are any (loss.ts), plus optional hint losses on matched feature
 * maps. Trained values are written back into the student's own initializers. Same seed, same
 * inputs → same bytes: seeded shuffling and shifts, a single-threaded wasm backend, and a
 * single-threaded teacher.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.ts';
import { concatFloat32 } from '../math/arrays.ts';
import { argmax } from '../report/metrics.ts';
import type { Model } from '../ir/model.ts';
import { TrainableGraph } from '../runtime/tfjs/executor.ts';
import { initTrainingBackend, Seeded } from '../train/backend.ts';
import { gatherBatch } from '../train/train.ts';
import { batchOf, otherInputRows, rows, type Samples } from './data.ts';
import { batchFeeds, planBatch, type Batch } from '../runtime/batches.ts';
import type { FeedPlan } from '../runtime/data-feeds.ts';
import { toTf, valueSpecs } from '../runtime/tfjs/session.ts';
import { distillLoss, hintLoss } from './loss.ts';
import { MaskedOptimizer, type OptimizerName } from './optimizer.ts';
import { learningRateAt, type LrSchedule } from './schedule.ts';
import type { Teacher } from './teacher.ts';

/** A student value trained to match a teacher value; `channels` picks the teacher's channels (axis 1) in the student's order. */
export interface HintPair {
  student: string;
  teacher: string;
  channels?: number[];
}

export interface DistillOptions {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** SGD momentum. */
  momentum: number;
  weightDecay: number;
  schedule: LrSchedule;
  /** step schedule: epochs per decay, and the factor. */
  stepEpochs: number;
  gamma: number;
  /** Linear learning-rate warm-up over this many epochs (fractions allowed) before the schedule. */
  warmupEpochs: number;
  temperature: number;
  /** Weight of the soft (teacher) loss; 1 − alpha goes to the labels. 1 = no labels needed. */
  alpha: number;
  seed: number;
  /** Random shifts of [C,H,W] samples by up to this many pixels (0: off). */
  maxShift: number;
  /** Epochs without a better validation score before stopping (0: never stop early). */
  patience: number;
  hints: HintPair[];
  hintWeight: number;
  /** Train int8 weights behind DequantizeLinear (and through Q/DQ pairs). */
  quantAware: boolean;
  /** After training, re-estimate BatchNormalization running statistics over the training data. */
  recalibrateBn: boolean;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  /** Validation accuracy with labels, else top-1 agreement with the teacher (fraction). */
  val?: number;
  learningRate: number;
  samplesPerSecond: number;
}

export interface DistillResult {
  epochs: EpochReport[];
  /** Training throughput over all steps (teacher forward + student step). */
  samplesPerSecond: number;
  /** Epoch whose weights were kept (the best validation score, else the last). */
  keptEpoch: number;
  stoppedEarly: boolean;
  usedLabels: boolean;
  trainedParameters: number;
  maskedWeights: number;
}

export interface DistillHooks {
  progress?(fraction: number, label?: string): void;
  note?(message: string): void;
}

/** Top-1 class per row (the report's argmax: a NaN row counts as wrong). */
function argmaxRows(logits: Float32Array, rows: number): Int32Array {
  const k = logits.length / rows;
  return Int32Array.from({ length: rows }, (_, r) => argmax(logits, r * k, k));
}

/** Top-1 of the student (inference mode) against labels, or against the teacher's top-1. */
function score(exec: TrainableGraph, feed: StudentFeeds, output: string, data: Samples, target: Int32Array): number {
  let hits = 0;
  for (let start = 0; start < data.length; start += 500) {
    const n = Math.min(500, data.length - start);
    const logits = tf.tidy(() => exec.run(feed(batchOf(rows(data, start, start + n))), { fetch: [output] })[output]!.nchw().dataSync() as Float32Array);
    argmaxRows(logits, n).forEach((p, i) => (hits += p === target[start + i] ? 1 : 0));
  }
  return hits / data.length;
}

type StudentFeeds = (batch: Batch) => Record<string, tf.Tensor>;

/**
 * The student's inputs for a batch, planned once as every run of a data set is (arrays by
 * input name, constants, zero state; runtime/data-feeds.ts). Call inside tf.tidy.
 */
function studentFeeds(exec: TrainableGraph): StudentFeeds {
  const g = exec.model.graph;
  const session = { label: 'the student', inputs: valueSpecs(g.inputs.filter((i) => !g.initializers.has(i.name))), outputs: valueSpecs(g.outputs) };
  let plan: FeedPlan | undefined;
  return (batch) => {
    plan ??= planBatch(session, batch);
    const n = batch.shape[0]!;
    if (plan.chunk !== undefined && plan.chunk !== n) throw new InputError(`the student runs ${plan.chunk} sample(s) per call (a fixed leading input dim); distillation trains on batches: export it with a free batch dim`);
    const host = batchFeeds(session.label, plan, batch, 0, n, n);
    return Object.fromEntries(Object.entries(host).map(([name, t]) => [name, toTf(name, t)]));
  };
}

/**
 * Re-estimates BatchNormalization running statistics with the trained weights: the student
 * runs in train mode over the unshifted training data and each batch's statistics weigh by
 * its size, so the result is their mean over the whole set. The moving average training
 * leaves behind reflects only its last few batches (momentum 0.9: about ten), of shifted
 * samples.
 */
function recalibrateBatchNorm(exec: TrainableGraph, feed: StudentFeeds, output: string, data: Samples): void {
  if (exec.buffers.size === 0) return;
  for (let start = 0; start < data.length; start += 500) {
    const n = Math.min(500, data.length - start);
    tf.tidy(() => {
      exec.run(feed(batchOf(rows(data, start, start + n))), { training: true, fetch: [output], statsMomentum: start / (start + n) });
    });
  }
}

async function teacherLogits(teacher: Teacher, data: Samples): Promise<Float32Array[]> {
  const parts: Float32Array[] = [];
  for (let start = 0; start < data.length; start += 256) parts.push((await teacher.run(batchOf(rows(data, start, Math.min(data.length, start + 256))))).logits);
  return parts;
}

export async function distill(student: Model, teacher: Teacher, train: Samples, val: Samples | undefined, o: DistillOptions, hooks: DistillHooks = {}): Promise<DistillResult> {
  await initTrainingBackend();
  const g = student.graph;
  const hasQdq = g.nodes.some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
  if (hasQdq && !o.quantAware) throw new InputError('the student is quantized (QuantizeLinear/DequantizeLinear): pass quantAware to train through its Q/DQ pairs');
  const output = g.outputs[0]!.name;
  const usedLabels = train.y !== undefined && o.alpha < 1;
  if (train.y === undefined && o.alpha < 1) hooks.note?.(`the training data has no labels: soft targets only (alpha ${o.alpha} → 1)`);
  const alpha = usedLabels ? o.alpha : 1;
  if (train.length < o.batchSize) throw new InputError(`${train.length} training samples do not fill one batch of ${o.batchSize}`);

  const exec = new TrainableGraph(student, { quantAware: o.quantAware, label: 'student' });
  const feed = studentFeeds(exec);
  const opt = new MaskedOptimizer(exec.trainable, { name: o.optimizer, momentum: o.momentum, weightDecay: o.weightDecay });
  const rng = new Seeded(o.seed);
  const perClass = (l: Float32Array) => l.length / train.length;
  // Without shifts or hints the teacher sees each sample unchanged every epoch: run it once.
  const cached = o.maxShift === 0 && o.hints.length === 0 ? concatFloat32(await teacherLogits(teacher, train)) : undefined;
  const valTarget = val ? (val.y ?? argmaxRows(concatFloat32(await teacherLogits(teacher, val)), val.length)) : undefined;
  const stepsPerEpoch = Math.floor(train.length / o.batchSize);
  const totalSteps = stepsPerEpoch * o.epochs;
  const fetch = [output, ...o.hints.map((h) => h.student)];
  const hintChannels = o.hints.map((h) => (h.channels ? tf.keep(tf.tensor1d(h.channels, 'int32')) : undefined));
  const labelsAll = train.y ?? new Int32Array(train.length);
  const report: EpochReport[] = [];
  let best: { score: number; epoch: number; values: tf.Tensor[] } | undefined;
  let stoppedEarly = false;
  let trainSeconds = 0;
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const order = rng.permutation(train.length);
      const epochStart = performance.now();
      let lossSum = 0;
      let lr = o.learningRate;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const rowsAt = order.slice(s * o.batchSize, (s + 1) * o.batchSize);
        const batch = gatherBatch({ x: train.x, y: labelsAll, sampleShape: train.sampleShape, length: train.length }, rowsAt, o.maxShift, rng);
        const fed = batchOf(train, batch.x, otherInputRows(train, rowsAt));
        let tLogits: Float32Array;
        let features: Awaited<ReturnType<Teacher['run']>>['features'] = {};
        if (cached) {
          const k = perClass(cached);
          tLogits = new Float32Array(rowsAt.length * k);
          rowsAt.forEach((r, i) => tLogits.set(cached.subarray(r * k, (r + 1) * k), i * k));
        } else {
          const t = await teacher.run(fed);
          tLogits = t.logits;
          features = t.features;
        }
        lr = learningRateAt({ schedule: o.schedule, learningRate: o.learningRate, totalSteps, stepsPerEpoch, stepEpochs: o.stepEpochs, gamma: o.gamma, warmupSteps: Math.round(o.warmupEpochs * stepsPerEpoch) }, (epoch - 1) * stepsPerEpoch + s);
        lossSum += tf.tidy(() => {
          const teacherT = tf.tensor(tLogits, [o.batchSize, tLogits.length / o.batchSize]);
          const labels = usedLabels ? tf.tensor1d(batch.y, 'int32') : undefined;
          const { value, grads } = tf.variableGrads(() => {
            const out = exec.run(feed(fed), { training: true, fetch });
            let loss = distillLoss(out[output]!.nchw(), teacherT, labels, o.temperature, alpha);
            o.hints.forEach((h, i) => {
              const f = features[h.teacher]!;
              let target = tf.tensor(f.data, f.dims);
              if (hintChannels[i]) target = tf.gather(target, hintChannels[i]!, 1);
              loss = loss.add(hintLoss(out[h.student]!.nchw(), target).mul(o.hintWeight));
            });
            return loss;
          }, exec.trainable);
          opt.apply(grads, lr);
          return value.dataSync()[0]!;
        });
        const done = (epoch - 1) * stepsPerEpoch + s + 1;
        if (s % 10 === 0 || s === stepsPerEpoch - 1) {
          const elapsed = trainSeconds + (performance.now() - epochStart) / 1000;
          const rate = (done * o.batchSize) / elapsed;
          const eta = ((totalSteps - done) * o.batchSize) / rate;
          hooks.progress?.(done / totalSteps, `epoch ${epoch}/${o.epochs} loss ${(lossSum / (s + 1)).toFixed(4)} ${rate.toFixed(0)} samples/s ETA ${eta.toFixed(0)} s`);
        }
      }
      const seconds = (performance.now() - epochStart) / 1000;
      trainSeconds += seconds;
      const valScore = val && valTarget ? score(exec, feed, output, val, valTarget) : undefined;
      const entry: EpochReport = { epoch, loss: lossSum / stepsPerEpoch, learningRate: lr, samplesPerSecond: (stepsPerEpoch * o.batchSize) / seconds, ...(valScore !== undefined && { val: valScore }) };
      report.push(entry);
      hooks.note?.(`epoch ${epoch}: loss ${entry.loss.toFixed(4)}${valScore !== undefined ? `, val ${usedLabels || val?.y ? 'accuracy' : 'agreement'} ${(valScore * 100).toFixed(2)} %` : ''}, ${entry.samplesPerSecond.toFixed(0)} samples/s`);
      if (valScore !== undefined) {
        if (!best || valScore > best.score) {
          best?.values.forEach((t) => t.dispose());
          best = { score: valScore, epoch, values: [...exec.params.values(), ...exec.buffers.values()].map((v) => tf.keep(v.clone())) };
        } else if (o.patience > 0 && epoch - best.epoch >= o.patience) {
          stoppedEarly = true;
          hooks.note?.(`early stop after epoch ${epoch}: no better validation score for ${o.patience} epoch(s)`);
          break;
        }
      }
    }
    // Keep the best validated weights (the last ones without validation data).
    if (best) [...exec.params.values(), ...exec.buffers.values()].forEach((v, i) => v.assign(best!.values[i]!));
    if (o.recalibrateBn) recalibrateBatchNorm(exec, feed, output, train);
    exec.writeBack(student);
    const trained = exec.trainable.reduce((n, v) => n + v.size, 0);
    const steps = report.length * stepsPerEpoch;
    return {
      epochs: report,
      samplesPerSecond: (steps * o.batchSize) / trainSeconds,
      keptEpoch: best?.epoch ?? report.length,
      stoppedEarly,
      usedLabels,
      trainedParameters: trained,
      maskedWeights: opt.maskedCount,
    };
  } finally {
    best?.values.forEach((t) => t.dispose());
    hintChannels.forEach((t) => t?.dispose());
    opt.dispose();
    exec.dispose();
  }
}
