/**
 * Is static int8 faster than fp32 in onnxruntime-node, and why (not)? On the MNIST fixtures:
 *
 *   npx tsx test/bench/int8-latency.ts [--fixtures lenet5,mlp,dscnn,tinyvit,/path/x.onnx]
 *     [--batch 32,1] [--threads 1] [--rounds 15] [--runs 20] [--opt all]
 *     [--variants default,speed,size,…] [--profile] [--no-accuracy]
 *
 * The baseline is the fixture as it is (fp32). Every variant is `quantizeModel` on it, as
 * `shrinkray quantize <fixture> --calib mnist-calib.npz` with the variant's options (512
 * calibration samples; `default` is the CLI's defaults: prepared, target balanced). Timing is
 * interleaved in one process: in each round the fp32 and int8 sessions run alternately `--runs`
 * times each on the same seeded input, and the round's ratio is p50(fp32) / p50(int8); the
 * table shows the median ratio over the rounds and its range, per batch size, and the median
 * of the rounds' fastest-call ratios (what quantize's placement compares: steadier under load). The machine's
 * load average is printed before and after. "ORT int8 convs" counts QLinearConv against float
 * Conv in onnxruntime's optimized graph. `--profile` adds onnxruntime's per-node kernel times
 * (median µs per run, batch = the first of --batch). Accuracy is top-1 on the held-out
 * mnist-test. Not part of the test suite.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { openDataset } from '../../src/data/dataset.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { mulberry32 } from '../../src/math/random.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import type { QuantizeOptions } from '../../src/quant/int8/types.ts';
import { optimizedOps, profileModel } from '../../src/runtime/profile.ts';
import { arg, flag } from './args.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const data = (name: string) => `${root}fixtures/data/mnist-${name}.npz`;

const batches = arg('batch', '32,1').split(',').map(Number);
const threads = Number(arg('threads', '1'));
const rounds = Number(arg('rounds', '15'));
const runs = Number(arg('runs', '20'));
const opt = arg('opt', 'all') as 'disabled' | 'basic' | 'extended' | 'all';

/** Convs MLAS cannot run fast in 8 bits: fewer than 4 input channels (not grouped), and depthwise. */
function convs(m: Model): { shallow: string[]; depthwise: string[] } {
  const shallow: string[] = [];
  const depthwise: string[] = [];
  for (const n of m.graph.nodes) {
    const w = n.opType === 'Conv' ? m.graph.initializers.get(n.inputs[1]!) : undefined;
    if (!w) continue;
    const group = n.getInt('group', 1);
    if (group > 1 && w.dims[1] === 1) depthwise.push(n.name);
    else if (group === 1 && w.dims[1]! < 4) shallow.push(n.name);
  }
  return { shallow, depthwise };
}

interface Variant {
  key: string;
  label: string;
  quant: Partial<QuantizeOptions>;
  /** onnxruntime session config entries (SessionOptions.extra). */
  extra?: Record<string, unknown>;
}

const NO_PROPAGATION = { optimization: { disable_specified_optimizers: 'QDQPropagationTransformer' } };

function variants(m: Model): Variant[] {
  const { shallow, depthwise } = convs(m);
  const list: Variant[] = [
    { key: 'default', label: 'CLI defaults (prepared, target balanced)', quant: {} },
    { key: 'speed', label: 'target speed', quant: { target: 'speed' } },
    { key: 'size', label: 'target size (every planned layer int8)', quant: { target: 'size' } },
    { key: 'unprepared', label: 'prepare false, target size (before this work)', quant: { prepare: false, target: 'size' } },
    { key: 's8', label: 'size, s8 act', quant: { target: 'size', activationType: 'int8' } },
    { key: 's8-allowed', label: 'size, s8 act, session.qdqisint8allowed=1', quant: { target: 'size', activationType: 'int8' }, extra: { session: { qdqisint8allowed: '1' } } },
    { key: 'per-tensor', label: 'size, per-tensor weights', quant: { target: 'size', perChannel: false } },
    { key: 'qoperator', label: 'size, QOperator', quant: { target: 'size', format: 'qoperator' } },
  ];
  if (shallow.length) {
    list.push({ key: 'all-int8', label: 'size, every Conv int8 (minConvInputChannels 0)', quant: { target: 'size', minConvInputChannels: 0 } });
    list.push({ key: 'noprop', label: 'size, no QDQ propagation (session option)', quant: { target: 'size' }, extra: NO_PROPAGATION });
  }
  if (depthwise.length) list.push({ key: 'dw-float', label: `size, depthwise float (${depthwise.length})`, quant: { target: 'size', excludeNodes: depthwise } });
  const only = arg('variants', 'default,size,unprepared');
  return only === 'all' ? list : list.filter((v) => only.split(',').includes(v.key));
}

async function session(bytes: Uint8Array, extra: Record<string, unknown> = {}) {
  return ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: opt, logSeverityLevel: 3, extra,
  });
}

const median = (v: readonly number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function feeds(batch: number): Record<string, ort.Tensor> {
  const rng = mulberry32(1);
  const x = Float32Array.from({ length: batch * 784 }, () => rng());
  return { input: new ort.Tensor('float32', x, [batch, 1, 28, 28]) };
}

async function timed(s: ort.InferenceSession, f: Record<string, ort.Tensor>): Promise<number> {
  const a = performance.now();
  await s.run(f);
  return performance.now() - a;
}

/** Interleaved rounds: fp32 and int8 alternate call by call; per round p50(fp32) / p50(int8). */
async function compare(float: ort.InferenceSession, q: ort.InferenceSession, batch: number) {
  const input = feeds(batch);
  for (let i = 0; i < 10; i++) {
    await float.run(input);
    await q.run(input);
  }
  const ratios: number[] = [];
  const minRatios: number[] = [];
  const msF: number[] = [];
  const msQ: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const f: number[] = [];
    const g: number[] = [];
    for (let i = 0; i < runs; i++) {
      f.push(await timed(float, input));
      g.push(await timed(q, input));
    }
    msF.push(median(f));
    msQ.push(median(g));
    ratios.push(msF.at(-1)! / msQ.at(-1)!);
    minRatios.push(Math.min(...f) / Math.min(...g));
  }
  return { msF: median(msF), msQ: median(msQ), ratio: median(ratios), lo: Math.min(...ratios), hi: Math.max(...ratios), minRatio: median(minRatios) };
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');

async function profileLines(bytes: Uint8Array): Promise<string[]> {
  const p = await profileModel(bytes, { batch: batches[0], threads, minRuns: 10 * runs });
  return [`    total ${p.totalUs} µs`, ...p.nodes.map((n) => `    ${String(n.us).padStart(5)} µs  ${n.op.padEnd(24)} ${n.name}`)];
}

async function main(): Promise<void> {
  const fixtures = arg('fixtures', 'lenet5,mlp,dscnn,tinyvit').split(',');
  const accuracy = !flag('no-accuracy');
  console.log(`onnxruntime-node ${ort.env.versions.common}, ${threads} thread(s), optimization ${opt}, ${rounds} rounds × ${runs} runs interleaved; load average ${load()}\n`);
  console.log('| fixture | variant | Conv/Gemm/MatMul in float | ORT int8 convs | batch | fp32 ms | int8 ms | fp32/int8 (median) | range | fastest/fastest | top-1 % (fp32 → int8) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const profiles: string[] = [];
  const test = await openDataset(data('test'));
  const calib = await openDataset(data('calib'));
  const evaluate = accuracyEvaluator(test);
  for (const fixture of fixtures) {
    const path = fixture.endsWith('.onnx') ? fixture : `${root}fixtures/${fixture}.onnx`;
    const name = fixture.replace(/^.*\//, '').replace(/\.onnx$/, '');
    const fp32 = modelToBytes(await loadModel(path));
    const accF = accuracy ? await evaluate(fp32) : NaN;
    const float = await session(fp32);
    if (flag('profile')) profiles.push(`${name} fp32`, ...(await profileLines(fp32)));
    for (const v of variants(await loadModel(fp32))) {
      const m = await loadModel(fp32);
      const result = await quantizeModel(m, v.quant, { calibration: calib });
      const bytes = modelToBytes(m);
      const ops = await optimizedOps(bytes, threads);
      const q = await session(bytes, v.extra);
      const acc = accuracy ? `${(accF * 100).toFixed(2)} → ${((await evaluate(bytes)) * 100).toFixed(2)}` : '—';
      const int8Convs = ops.get('QLinearConv') ?? 0;
      const layers = result.keptFloat.filter((k) => ['Conv', 'Gemm', 'MatMul'].includes(k.opType)).map((k) => k.node);
      const inFloat = layers.length > 4 ? `${layers.length}: ${layers.slice(0, 3).join(', ')} …` : layers.join(', ') || '—';
      for (const batch of batches) {
        const c = await compare(float, q, batch);
        console.log(
          `| ${name} | ${v.label} | ${inFloat} | ${int8Convs}/${int8Convs + (ops.get('Conv') ?? 0)} | ${batch} | ${c.msF.toFixed(3)} | ${c.msQ.toFixed(3)} | **${c.ratio.toFixed(2)}×** | ${c.lo.toFixed(2)}–${c.hi.toFixed(2)} | ${c.minRatio.toFixed(2)}× | ${acc} |`,
        );
      }
      await q.release();
      if (flag('profile')) profiles.push(`${name} ${v.key}`, ...(await profileLines(bytes)));
    }
    await float.release();
  }
  await test.close();
  await calib.close();
  console.log(`\nload average after: ${load()}`);
  if (profiles.length) console.log(`\nPer-node kernel time (onnxruntime profiler, median per run, batch ${batches[0]}):\n${profiles.join('\n')}`);
}

await main();
