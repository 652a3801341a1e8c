/**
 * The int8 tables of docs/quantization.md, measured on the fixture models:
 *
 *   npx tsx test/bench/quantize-fixtures.ts [--fixtures lenet5,mlp,dscnn,tinyvit] [--rounds 5] [--out report.md]
 *
 * Every model is first cleaned (BatchNormalization folded …) and that float model is the
 * baseline. Calibration uses fixtures/data/mnist-calib.npz; accuracy is top-1 on the held-out
 * fixtures/data/mnist-test.npz (never used for calibration or fallback decisions). Latency is
 * onnxruntime-node at batch 32, float and int8 timed in alternating rounds so both see the
 * same machine load. Calibration memory is measured in child processes at 100 and 5 000
 * samples (mnist-train).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDataset } from '../../src/data/dataset.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { compareLatency } from '../../src/runtime/latency.ts';
import { ActivationStats } from '../../src/quant/calibration/activation-stats.ts';
import { CALIBRATION_METHODS } from '../../src/quant/calibration/calibrators.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import { analyzeGraph, quantizeModel } from '../../src/quant/int8/quantize.ts';
import { makePlan } from '../../src/quant/int8/plan.ts';
import { DEFAULT_OP_TYPES } from '../../src/quant/int8/ops.ts';
import type { QuantizeOptions, QuantizeResult } from '../../src/quant/int8/types.ts';
import { cleanup } from '../../passes/cleanup.ts';
import { arg } from './args.ts';

const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));
const data = (name: string) => `${root}fixtures/data/mnist-${name}.npz`;


const pct = (x: number) => (x * 100).toFixed(2);
const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;

async function cleaned(path: string): Promise<Model> {
  const m = await loadModel(path);
  await runPipeline(m, [{ pass: cleanup }]);
  return loadModel(modelToBytes(m));
}

async function quantized(base: Model, options: Partial<QuantizeOptions>, extra: { evalOn?: string } = {}): Promise<{ bytes: Uint8Array; result: QuantizeResult; seconds: number }> {
  const m = await loadModel(modelToBytes(base));
  const calibration = await openDataset(data('calib'));
  const evalSet = extra.evalOn ? await openDataset(extra.evalOn) : undefined;
  try {
    const t = performance.now();
    const result = await quantizeModel(m, options, { calibration, evaluate: evalSet && accuracyEvaluator(evalSet) });
    return { bytes: modelToBytes(m), result, seconds: (performance.now() - t) / 1000 };
  } finally {
    await calibration.close();
    await evalSet?.close();
  }
}

async function accuracy(bytes: Uint8Array): Promise<number> {
  const ds = await openDataset(data('test'));
  try {
    return await accuracyEvaluator(ds)(bytes);
  } finally {
    await ds.close();
  }
}

/** p50 ms at batch 32 of the float model and each other one, timed interleaved with it; the median over rounds. */
async function latencies([fp32, ...others]: Uint8Array[], rounds: number): Promise<number[]> {
  const samples: number[][] = [[], ...others.map(() => [])];
  for (let r = 0; r < rounds; r++) {
    for (const [i, other] of others.entries()) {
      const c = await compareLatency(fp32!, other, { batch: 32 });
      samples[0]!.push(c.batchN.a.p50);
      samples[i + 1]!.push(c.batchN.b.p50);
    }
  }
  return samples.map((v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!);
}

/** Child process: calibrate `fixture` on `samples` training samples, print histogram bytes and peak RSS. */
async function memoryChild(fixture: string, samples: number): Promise<void> {
  const model = await cleaned(`${root}fixtures/${fixture}.onnx`);
  const plan = makePlan(analyzeGraph(model), { opTypes: new Set(DEFAULT_OP_TYPES), float: new Map(), format: 'qdq', perChannel: true });
  const stats = new ActivationStats();
  const ds = await openDataset(data('train'));
  try {
    await stats.collect(model, plan.tensors, { dataset: ds, limit: samples, batchSize: 64 });
  } finally {
    await ds.close();
  }
  process.stdout.write(JSON.stringify({ samples: stats.samples, tensors: stats.histograms.size, histogramBytes: stats.stateBytes, maxRss: process.resourceUsage().maxRSS * 1024 }) + '\n');
}

async function main(): Promise<void> {
  if (process.argv[2] === 'memory-child') return memoryChild(process.argv[3]!, Number(process.argv[4]));
  const fixtures = arg('fixtures', 'lenet5,mlp,dscnn,tinyvit').split(',').filter((f) => existsSync(`${root}fixtures/${f}.onnx`));
  const rounds = Number(arg('rounds', '5'));
  const out: string[] = [];
  const print = (line = '') => {
    out.push(line);
    process.stdout.write(line + '\n');
  };

  print('### int8 static QDQ (per-channel weights, uint8 activations, percentile 99.99 calibration on 512 samples)\n');
  print('| fixture | fp32 acc % | int8 acc % | drop pt | fp32 size | int8 size | size ratio | fp32 ms (b32) | int8 ms (b32) | speed-up | quantize s |');
  print('|---|---|---|---|---|---|---|---|---|---|---|');
  const methodRows: string[] = [];
  const formatRows: string[] = [];
  const fallbackRows: string[] = [];
  for (const f of fixtures) {
    const base = await cleaned(`${root}fixtures/${f}.onnx`);
    const fp32 = modelToBytes(base);
    const accF = await accuracy(fp32);
    const q = await quantized(base, {});
    const accQ = await accuracy(q.bytes);
    const [lf, lq] = await latencies([fp32, q.bytes], rounds);
    print(
      `| ${f} | ${pct(accF)} | ${pct(accQ)} | ${((accF - accQ) * 100).toFixed(2)} | ${kb(fp32.byteLength)} | ${kb(q.bytes.byteLength)} | ${(q.bytes.byteLength / fp32.byteLength).toFixed(3)} | ${lf!.toFixed(2)} | ${lq!.toFixed(2)} | ${(lf! / lq!).toFixed(2)}× | ${q.seconds.toFixed(2)} |`,
    );
    const accs: string[] = [];
    for (const method of CALIBRATION_METHODS) {
      const a = method === 'percentile' ? accQ : await accuracy((await quantized(base, { calibration: method })).bytes);
      accs.push(`${pct(a)} (${((accF - a) * 100).toFixed(2)})`);
    }
    methodRows.push(`| ${f} | ${pct(accF)} | ${accs.join(' | ')} |`);
    const qop = await quantized(base, { format: 'qoperator' });
    const s8 = await quantized(base, { activationType: 'int8' });
    const [, lop, ls8] = await latencies([fp32, qop.bytes, s8.bytes], rounds);
    formatRows.push(`| ${f} | ${pct(await accuracy(qop.bytes))} | ${lop!.toFixed(2)} | ${pct(await accuracy(s8.bytes))} | ${ls8!.toFixed(2)} |`);
    // Fallback with a deliberately tight budget, decided on the calibration split (labelled).
    for (const budget of [0.1, 0]) {
      try {
        const fb = await quantized(base, { maxAccuracyDrop: budget }, { evalOn: data('calib') });
        const r = fb.result.fallback!;
        const test = await accuracy(fb.bytes);
        fallbackRows.push(
          `| ${f} | ${budget} | ${pct(r.floatAccuracy)} → ${pct(r.quantizedAccuracy)} → ${pct(r.finalAccuracy)} | ${r.keptFloat.join(', ') || '—'} | ${((accF - test) * 100).toFixed(2)} | ${fb.seconds.toFixed(1)} |`,
        );
      } catch (err) {
        fallbackRows.push(`| ${f} | ${budget} | ${(err as Error).name}: ${(err as Error).message} | | | |`);
      }
    }
  }
  print('\n### Calibration methods: int8 QDQ top-1 accuracy % on the test split (drop in points)\n');
  print(`| fixture | fp32 | ${CALIBRATION_METHODS.join(' | ')} |`);
  print(`|---|---|${CALIBRATION_METHODS.map(() => '---').join('|')}|`);
  for (const r of methodRows) print(r);
  print('\n### QOperator format and int8 (s8s8) activations\n');
  print('| fixture | QOperator acc % | QOperator ms (b32) | QDQ int8-activation acc % | int8-activation ms (b32) |');
  print('|---|---|---|---|---|');
  for (const r of formatRows) print(r);
  print('\n### Accuracy-driven fallback with tight budgets (decided on mnist-calib; test drop measured on mnist-test)\n');
  print('| fixture | budget pt | calib acc %: float → all int8 → final | returned to float | test drop pt | seconds |');
  print('|---|---|---|---|---|---|');
  for (const r of fallbackRows) print(r);

  if (fixtures.length) {
    const f = fixtures.includes('tinyvit') ? 'tinyvit' : fixtures[0]!;
    print(`\n### Calibration memory (${f}, histograms of every quantized tensor, child process)\n`);
    print('| samples | tensors | histogram bytes | peak RSS |');
    print('|---|---|---|---|');
    for (const samples of [100, 5000]) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', self, 'memory-child', f, String(samples)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as { samples: number; tensors: number; histogramBytes: number; maxRss: number };
      print(`| ${c.samples} | ${c.tensors} | ${c.histogramBytes} | ${(c.maxRss / 2 ** 20).toFixed(0)} MiB |`);
    }
  }
  const file = arg('out', '');
  if (file) writeFileSync(file, out.join('\n') + '\n');
}

await main();
