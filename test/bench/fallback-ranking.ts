/**
 * Fallback's ranking methods side by side (docs/passes/quantize.md, "How fallback ranks"):
 *
 *   npx tsx test/bench/fallback-ranking.ts [--models fixtures/dscnn.onnx,… ] [--calib fixtures/data/mnist-calib.npz]
 *     [--test fixtures/data/mnist-test.npz] [--floor 30] [--shape x:1,3,48,320] [--linear] [--rankings alone,added]
 *
 * Each model is quantized static int8 (target size: no timing; the given SQNR floor, raised
 * above the default 20 dB so the fixtures need fallback at all) once with each ranking —
 * `alone` (one run per layer) and `added` (one run of the float and the all-int8 model) — and
 * the table gives the layers returned to float, the fallback's whole-model evaluations, the
 * worst output SQNR against float, size, the wall time, and top-1 on the held-out test set
 * when --test is given. With --linear, the 'added' ranking's prefixes are also evaluated one at
 * a time (1, 2, 3 … layers in float, through excludeNodes) to find where returning layers one
 * by one would have stopped — the float-layer count bisection is compared with.
 */
import { openDataset } from '../../src/data/dataset.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import { compareWithReference, referenceOutputs, worstSqnr } from '../../src/evaluate/quality.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import type { QuantizeOptions } from '../../src/quant/int8/types.ts';
import { parseInputShapes } from '../../src/runtime/shapes.ts';
import { arg, flag } from './args.ts';

const models = arg('models', 'fixtures/dscnn.onnx,fixtures/lenet5.onnx,fixtures/mlp.onnx,fixtures/mobilenetv2.onnx,fixtures/tinyvit.onnx').split(',');
const calibPath = arg('calib', 'fixtures/data/mnist-calib.npz');
const testPath = arg('test', '');
const floor = Number(arg('floor', '30'));
const shapeArg = arg('shape', '');
const shapes = shapeArg ? parseInputShapes([shapeArg]) : undefined;
const rankings = arg('rankings', 'alone,added').split(',') as Array<'alone' | 'added'>;

async function run(path: string, options: Partial<QuantizeOptions>) {
  const model = await loadModel(path);
  const calibration = await openDataset(calibPath);
  try {
    const t = performance.now();
    const result = await quantizeModel(model, { target: 'size', ...options }, { calibration, shapes });
    return { result, seconds: (performance.now() - t) / 1000, bytes: modelToBytes(model) };
  } finally {
    await calibration.close();
  }
}

async function accuracy(bytes: Uint8Array): Promise<string> {
  if (!testPath) return '';
  const ds = await openDataset(testPath);
  try {
    return `${((await accuracyEvaluator(ds)(bytes)) * 100).toFixed(2)} %`;
  } finally {
    await ds.close();
  }
}

/** Where returning the ranked layers one at a time stops: the first prefix whose worst output SQNR meets the floor. */
async function oneAtATime(path: string, ranked: readonly string[], hit: number): Promise<string> {
  const calibration = await openDataset(calibPath);
  try {
    const ref = await referenceOutputs(path, { dataset: calibration, limit: 128, batchSize: 64 });
    const seen: string[] = [];
    for (let k = 1; k <= hit; k++) {
      const { bytes } = await run(path, { minSqnr: 0, excludeNodes: ranked.slice(0, k) });
      const sqnr = worstSqnr(await compareWithReference(ref, bytes));
      seen.push(`${k}: ${sqnr.toFixed(1)}`);
      if (sqnr >= floor) return `${k} (${seen.join(', ')} dB)`;
    }
    return `> ${hit} (${seen.join(', ')} dB)`;
  } finally {
    await calibration.close();
  }
}

console.log(`floor ${floor} dB, calibration ${calibPath}, target size\n`);
console.log('| model | ranking | layers | in float | evaluations | worst SQNR dB | size | top-1 | seconds | one at a time |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|:---|');
for (const path of models) {
  for (const sensitivity of rankings) {
    let row: string;
    try {
      const { result, seconds, bytes } = await run(path, { minSqnr: floor, sensitivity });
      const fb = result.fallback;
      const sqnr = fb ? fb.finalAccuracy : NaN;
      const linear = flag('linear') && fb && sensitivity === 'added' ? await oneAtATime(path, fb.sensitivity.map((s) => s.node), fb.keptFloat.length) : '';
      row = `| ${path.split('/').at(-1)} | ${sensitivity} | ${fb?.sensitivity.length ?? '–'} | ${fb?.keptFloat.length ?? 0} | ${fb ? fb.steps.length - 1 : 0} | ${fb ? sqnr.toFixed(1) : 'no fallback'} | ${(bytes.byteLength / 1024).toFixed(1)} KiB | ${await accuracy(bytes)} | ${seconds.toFixed(1)} | ${linear} |`;
    } catch (err) {
      row = `| ${path.split('/').at(-1)} | ${sensitivity} | | | | ${(err as Error).message.slice(0, 120)} | | | | |`;
    }
    console.log(row);
  }
}
