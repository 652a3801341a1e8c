/**
 * Where a distillation training step goes: the 50 %-channel-pruned fixture's forward,
 * KD loss, backward and Adam update (the loop `distill` runs, teacher logits fixed), timed in
 * CPU milliseconds per step (process time: on a shared machine the wall clock mostly measures
 * other jobs), and with --kernels the backend calls per step and each kernel's CPU time
 * (nested kernels, e.g. a gradient written with other kernels, count in both).
 *
 *   npx tsx test/bench/distill-step.ts --model lenet5 --steps 100 [--batch 64] [--kernels]
 *
 * For a line-level view: node --import tsx --cpu-prof test/bench/distill-step.ts ...
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { passes } from '../../passes/index.ts';
import { loadSamples } from '../../src/distill/data.ts';
import { distillLoss } from '../../src/distill/loss.ts';
import { MaskedOptimizer } from '../../src/distill/optimizer.ts';
import { loadModel } from '../../src/io/load.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { TrainableGraph } from '../../src/runtime/tfjs/executor.ts';
import { initTrainingBackend } from '../../src/train/backend.ts';
import { arg, flag } from './args.ts';

const MODEL = arg('model', 'lenet5');
const STEPS = Number(arg('steps', '100'));
const BATCH = Number(arg('batch', '64'));
await initTrainingBackend();
const model = await loadModel(`fixtures/${MODEL}.onnx`);
await runPipeline(model, [{ pass: passes.prune!, options: { channels: 0.5, verify: false } }]);
const train = await loadSamples('fixtures/data/mnist-train.npz');
const exec = new TrainableGraph(model);
const opt = new MaskedOptimizer(exec.trainable, { name: 'adam' });
const per = train.x.length / train.length;
const input = model.graph.inputs[0]!.name;
const output = model.graph.outputs[0]!.name;
const teacher = tf.keep(tf.randomNormal([BATCH, 10], 0, 1, 'float32', 1));

function step(i: number): void {
  tf.tidy(() => {
    const s = (i * BATCH) % (train.length - BATCH);
    const x = tf.tensor(train.x.subarray(s * per, (s + BATCH) * per), [BATCH, ...train.sampleShape]);
    const labels = tf.tensor1d(train.y!.subarray(s, s + BATCH), 'int32');
    const { value, grads } = tf.variableGrads(() => distillLoss(exec.run({ [input]: x }, { training: true, fetch: [output] })[output]!.nchw(), teacher, labels, 2, 0.9), exec.trainable);
    opt.apply(grads, 0.01);
    value.dataSync();
  });
}

const kernels = new Map<string, { calls: number; us: number }>();
if (flag('kernels')) {
  for (const k of tf.getKernelsForBackend('wasm')) {
    const f = k.kernelFunc;
    (k as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => {
      const start = process.cpuUsage();
      const out = f(args);
      const used = process.cpuUsage(start);
      const e = kernels.get(k.kernelName) ?? { calls: 0, us: 0 };
      kernels.set(k.kernelName, { calls: e.calls + 1, us: e.us + used.user + used.system });
      return out;
    };
  }
}
for (let i = 0; i < 5; i++) step(i);
kernels.clear();
const load = loadavg()[0]!.toFixed(1);
const cpu = process.cpuUsage();
for (let i = 0; i < STEPS; i++) step(i);
const used = process.cpuUsage(cpu);
const calls = [...kernels.values()].reduce((n, e) => n + e.calls, 0) / STEPS;
console.log(`${MODEL} 50 % pruned, batch ${BATCH}: ${((used.user + used.system) / 1000 / STEPS).toFixed(2)} ms CPU per step over ${STEPS} steps (load ${load})${flag('kernels') ? `, ${calls.toFixed(0)} backend calls per step` : ''}`);
for (const [name, e] of [...kernels].sort((a, b) => b[1].us - a[1].us).slice(0, 20)) {
  console.log(`  ${name.padEnd(28)} ${(e.calls / STEPS).toFixed(0).padStart(4)} calls ${(e.us / 1000 / STEPS).toFixed(2).padStart(6)} ms`);
}
