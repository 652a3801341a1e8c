/**
 * Trains the fixture models on fixtures/data/mnist-train.npz with TensorFlow.js (wasm),
 * exports each to fixtures/<name>.onnx, checks that onnxruntime scores the held-out
 * mnist-test.npz as tfjs does (within 0.1 point), and rewrites the "## Models" section of
 * fixtures/README.md. mnist-calib.npz is left alone: calibration must not see training data.
 * Deterministic given the seeds. Run: npm run fixtures
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset } from '../src/data/dataset.ts';
import { saveModel } from '../src/io/save.ts';
import { measureModel } from '../src/evaluate/measure.ts';
import { formatSize } from '../src/report/size.ts';
import { initTrainingBackend, Seeded } from '../src/train/backend.ts';
import { accuracy, fit, loadLabelled, type FitOptions } from '../src/train/train.ts';
import { MODELS } from './fixtures/models.ts';
import { modelsSection, type ModelRow } from './fixtures/readme.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const SEED = 2024;

type Recipe = Omit<FitOptions, 'seed' | 'onEpoch'> & { architecture: string };

const RECIPES: Record<keyof typeof MODELS, Recipe> = {
  lenet5: {
    architecture: 'LeNet-5: Conv 6@5x5 pad 2, BN, ReLU, MaxPool 2 → Conv 16@5x5, BN, ReLU, MaxPool 2 → Flatten → Gemm 120, ReLU → Gemm 84, ReLU → Gemm 10',
    epochs: 12,
    batchSize: 64,
    learningRate: 3e-3,
    maxShift: 2,
    weightDecay: 1e-2,
  },
  mlp: {
    architecture: 'LeNet-300-100: Reshape 784 → Gemm 300, ReLU → MatMul + Add 100, ReLU → Gemm 10',
    epochs: 10,
    batchSize: 64,
    learningRate: 1e-3,
    maxShift: 1,
    weightDecay: 1e-2,
  },
  dscnn: {
    architecture:
      'MobileNet-style: Conv 16@3x3/2, BN, Clip(0,6) → depthwise-separable 16→32 /2 → 32→64 → residual separable 64→64 + Add, ReLU → GlobalAveragePool → Gemm 10 (depthwise 3x3 + BN + Clip, pointwise 1x1 + BN + Clip; convs without bias)',
    epochs: 8,
    batchSize: 64,
    learningRate: 1e-2,
    weightDecay: 1e-2,
  },
  tinyvit: {
    architecture:
      'Transformer encoder over the 28 rows as tokens: MatMul embedding 28→64 + learned positions → 2 × [LayerNormalization, 2-head self-attention (MatMul/Transpose/Softmax), Add; LayerNormalization, MatMul 64→128, GELU (Erf), MatMul 128→64, Add] → LayerNormalization → ReduceMean over tokens → MatMul + Add 10',
    epochs: 6,
    batchSize: 64,
    learningRate: 3e-3,
    weightDecay: 1e-2,
  },
};

await initTrainingBackend();
const train = await loadLabelled(join(dir, 'data', 'mnist-train.npz'));
const test = await loadLabelled(join(dir, 'data', 'mnist-test.npz'));
const rows: ModelRow[] = [];

for (const [name, build] of Object.entries(MODELS)) {
  const recipe = RECIPES[name as keyof typeof MODELS];
  const net = build(new Seeded(SEED));
  console.log(`${name}: ${net.params} parameters, ${recipe.epochs} epochs`);
  const seconds = fit(net, train, {
    ...recipe,
    seed: SEED + 1,
    onEpoch: (e) => console.log(`  epoch ${e.epoch}: loss ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
  });
  const tfjsAccuracy = accuracy(net, test);

  const model = net.toOnnx();
  const file = join(dir, `${name}.onnx`);
  await saveModel(model, file);
  const dataset = await openDataset(join(dir, 'data', 'mnist-test.npz'));
  const { stage } = await measureModel(name, model, file, { dataset, latency: false, batchSize: 500 }).finally(() => dataset.close());
  const ortAccuracy = stage.accuracy!.top1;
  console.log(`  tfjs ${(100 * tfjsAccuracy).toFixed(2)} %, onnxruntime ${(100 * ortAccuracy).toFixed(2)} %, ${formatSize(stage.sizes.sizeBytes)}, ${seconds.toFixed(0)} s`);
  if (Math.abs(tfjsAccuracy - ortAccuracy) > 0.001) {
    throw new Error(`${name}: onnxruntime accuracy ${ortAccuracy} differs from tfjs ${tfjsAccuracy} by more than 0.1 point`);
  }
  rows.push({ name, architecture: recipe.architecture, ops: model.graph.nodes.map((n) => n.opType), params: net.params, bytes: stage.sizes.sizeBytes, tfjsAccuracy, ortAccuracy, seconds, recipe });
}

const readme = join(dir, 'README.md');
writeFileSync(readme, modelsSection(readFileSync(readme, 'utf8'), rows, SEED));
console.log(`wrote ${readme}`);
