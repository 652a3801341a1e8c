/**
 * `npm run bench:tflite`: every fixture exported in each output kind, run on the whole MNIST
 * test split in the real TFLite interpreter (1 thread) next to onnxruntime on the source
 * model: size, max abs error, top-1 in both runtimes, interpreter latency per sample.
 * Full int8 is exported from the calibrated QDQ model (cleanup, then quantize with int8
 * activations and calibration on mnist-calib.npz), and compared with that model in onnxruntime.
 *
 *   npm run bench:tflite [-- --limit 2000 --models lenet5,mlp,dscnn,tinyvit --kinds float32,float16,dynamic,int8]
 */
import { cleanup } from '../../passes/cleanup.ts';
import { quantize } from '../../passes/quantize.ts';
import { openDataset } from '../../src/data/dataset.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { validateOptions } from '../../src/pipeline/options.ts';
import { createTfliteRunner } from '../../src/runtime/tflite/interpreter.ts';
import { exportTflite } from '../../src/tflite/convert.ts';
import type { ExportKind } from '../../src/tflite/emitter.ts';
import { compareWithOnnx, toTfliteInput, type Sample } from '../../src/tflite/verify.ts';
import { arg } from './args.ts';

const ctx = { progress() {}, note() {} };
const limit = Number(arg('limit', '2000'));
const models = arg('models', 'lenet5,mlp,dscnn,tinyvit').split(',');
const kinds = arg('kinds', 'float32,float16,dynamic,int8').split(',') as ExportKind[];

const ds = await openDataset('fixtures/data/mnist-test.npz');
const samples: Sample[] = [];
const labels: number[] = [];
for await (const b of ds.batches(500, { limit })) {
  for (let i = 0; i < b.shape[0]!; i++) {
    samples.push([Float32Array.from((b.x as Float32Array).subarray(i * 784, (i + 1) * 784))]);
    labels.push(Number(b.y![i]));
  }
}
await ds.close();

const argmax = (v: Float32Array) => v.reduce((best, x, i) => (x > v[best]! ? i : best), 0);
const pct = (n: number) => `${((100 * n) / samples.length).toFixed(2)} %`;

async function source(name: string, kind: ExportKind): Promise<Model> {
  const m = await loadModel(`fixtures/${name}.onnx`);
  await cleanup.run(m, validateOptions('cleanup', cleanup.options, {}), ctx);
  if (kind === 'int8') {
    const opts = validateOptions('quantize', quantize.options, { calib: 'fixtures/data/mnist-calib.npz', activationType: 'int8', minConvInputChannels: 0 });
    await quantize.run(m, opts, ctx);
  }
  return m;
}

console.log(`| model | kind | size | max abs err vs ORT | top-1 TFLite | top-1 ORT | same top-1 | latency (TFLite, 1 thread) | ops kept float |`);
console.log(`|---|---|---|---|---|---|---|---|---|`);
for (const name of models) {
  for (const kind of kinds) {
    const model = await source(name, kind);
    const result = await exportTflite(model, { kind });
    const cmp = await compareWithOnnx(modelToBytes(model), result, samples);
    let tflRight = 0;
    let ortRight = 0;
    let same = 0;
    cmp.tflite.forEach((t, i) => {
      const a = argmax(t);
      const b = argmax(cmp.onnx[i]!);
      if (a === labels[i]) tflRight++;
      if (b === labels[i]) ortRight++;
      if (a === b) same++;
    });
    const runner = await createTfliteRunner(result.bytes);
    const x = result.inputs.map((info, i) => toTfliteInput(info, samples[0]![i]!));
    for (let i = 0; i < 50; i++) runner.run(x);
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      runner.run(x);
      times.push(performance.now() - t0);
    }
    runner.dispose();
    times.sort((a, b) => a - b);
    const err = Math.max(...cmp.outputs.map((o) => o.maxAbsError));
    console.log(`| ${name} | ${kind} | ${(result.bytes.length / 1024).toFixed(1)} KiB | ${err.toExponential(2)} | ${pct(tflRight)} | ${pct(ortRight)} | ${pct(same)} | ${(times[150]! * 1000).toFixed(0)} µs | ${result.floatNodes.length} |`);
  }
}
