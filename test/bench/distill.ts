/**
 * Distillation of channel-pruned fixtures, measured: teacher, pruned before training, and
 * after training (KD or plain fine-tuning), top-1 on the held-out mnist-test.npz (never used
 * for training or to pick weights), over several seeds; plus training throughput.
 *
 *   npx tsx test/bench/distill.ts --model lenet5 --seeds 1,2,3 --epochs 5 --lr 0.003 \
 *     [--alpha 0.9] [--shift 0] [--hints auto] [--schedule cosine] [--channels 0.5] [--label KD] [--quantize]
 *
 * --student-hidden H replaces the pruned student with a fresh MLP 784-H-10 (seeded He init,
 * trained from scratch, the fixture as teacher): KD (--alpha 0.9) against labels alone (--alpha 0).
 *
 * --quantize appends the int8 quantize pass (calibrated on mnist-calib.npz): prune → distill →
 * quantize in one pipeline, as `compress --passes prune,distill,quantize`; `after` is then the
 * int8 model and `distilled` the float student before quantization.
 *
 * Each seed runs `prune → distill` as one pipeline, so the teacher is the pipeline's input
 * model (ctx.inputModel), exactly as `compress --passes prune,distill` does. Prints one JSON
 * line per seed and a summary line (mean, sample std, min–max).
 */
import * as ort from 'onnxruntime-node';
import { passes } from '../../passes/index.ts';
import { loadSamples } from '../../src/distill/data.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import type { Model } from '../../src/ir/model.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { Seeded, initTrainingBackend } from '../../src/train/backend.ts';
import { dense, relu, reshape } from '../../src/train/layers.ts';
import { Net } from '../../src/train/net.ts';
import { arg, flag } from './args.ts';

const MODEL = arg('model', 'lenet5');
const SEEDS = arg('seeds', '1,2,3').split(',').map(Number);
const QUANTIZE = flag('quantize');
const test = await loadSamples('fixtures/data/mnist-test.npz');

async function accuracy(model: Model): Promise<number> {
  const session = await ort.InferenceSession.create(modelToBytes(model), { intraOpNumThreads: 1 });
  const per = test.x.length / test.length;
  let hits = 0;
  for (let s = 0; s < test.length; s += 500) {
    const n = Math.min(500, test.length - s);
    const out = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', test.x.slice(s * per, (s + n) * per), [n, ...test.sampleShape]) }))[session.outputNames[0]!]!.data as Float32Array;
    const k = out.length / n;
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (out[r * k + j]! > out[r * k + best]!) best = j;
      if (best === test.y![s + r]) hits++;
    }
  }
  await session.release();
  return (hits / test.length) * 100;
}

const options = {
  train: arg('train', 'fixtures/data/mnist-train.npz'),
  epochs: Number(arg('epochs', '5')),
  lr: Number(arg('lr', '0.02')),
  alpha: Number(arg('alpha', '0.5')),
  temperature: Number(arg('temperature', '2')),
  shift: Number(arg('shift', '-1')),
  schedule: arg('schedule', 'cosine'),
  hints: arg('hints', '') ? arg('hints', '').split(',') : [],
  hintWeight: Number(arg('hint-weight', '0.1')),
  batchSize: Number(arg('batch', '16')),
  optimizer: arg('optimizer', 'adam'),
  ...(arg('warmup', '') && { warmup: Number(arg('warmup', '')) }),
  recalibrateBn: arg('recalibrate-bn', 'true') === 'true',
};
const teacherAcc = await accuracy(await loadModel(`fixtures/${MODEL}.onnx`));
const rows: { before: number; distilled: number; after: number; rate: number; seconds: number }[] = [];
const HIDDEN = Number(arg('student-hidden', '0'));

/** A fresh MLP 784-H-10 (Gemm, ReLU, Gemm), He init from the seed. */
function smallMlp(seed: number): Model {
  const rng = new Seeded(seed);
  return new Net(`mlp${HIDDEN}`, [1, 28, 28], 10, [reshape('reshape', [-1, 784]), dense(rng, 'fc1', 784, HIDDEN, 'Gemm'), relu('relu1'), dense(rng, 'fc2', HIDDEN, 10, 'Gemm')]).toOnnx();
}

if (HIDDEN > 0) await initTrainingBackend();
for (const seed of SEEDS) {
  const model = HIDDEN > 0 ? smallMlp(seed) : await loadModel(`fixtures/${MODEL}.onnx`);
  let before = HIDDEN > 0 ? await accuracy(model) : NaN;
  let distilled = NaN;
  const start = performance.now();
  const result = await runPipeline(
    model,
    [
      ...(HIDDEN > 0 ? [] : [{ pass: passes.prune!, options: { channels: Number(arg('channels', '0.5')), verify: false } }]),
      { pass: passes.distill!, options: { ...options, seed, ...(HIDDEN > 0 && { teacher: `fixtures/${MODEL}.onnx` }) } },
      ...(QUANTIZE ? [{ pass: passes.quantize!, options: { calib: 'fixtures/data/mnist-calib.npz' } }] : []),
    ],
    {
      async afterPass(m, r) {
        if (r.pass === 'prune') before = await accuracy(m);
        if (r.pass === 'distill') distilled = await accuracy(m);
      },
    },
  );
  const after = await accuracy(model);
  const changes = result.stages.find((st) => st.pass === 'distill')!.changes;
  const row = { before, distilled, after, rate: changes.samplesPerSecond!, seconds: (performance.now() - start) / 1000 };
  rows.push(row);
  console.log(JSON.stringify({ model: MODEL, seed, teacher: teacherAcc, ...row, options }));
}
const stats = (v: number[]) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return `${mean.toFixed(2)} ± ${std.toFixed(2)} (${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)})`;
};
console.log(
  `SUMMARY ${arg('label', 'run')} ${MODEL}${HIDDEN > 0 ? ` → mlp784-${HIDDEN}-10 from scratch` : ''}: teacher ${teacherAcc.toFixed(2)} | ${HIDDEN > 0 ? 'untrained' : 'pruned'} ${stats(rows.map((r) => r.before))}${QUANTIZE ? ` | distilled (float) ${stats(rows.map((r) => r.distilled))} | int8` : ''} | after ${stats(rows.map((r) => r.after))} | ${stats(rows.map((r) => r.rate))} samples/s | epochs ${options.epochs} lr ${options.lr} ${options.schedule} alpha ${options.alpha} shift ${options.shift} hints ${options.hints.join('+') || '-'}`,
);
