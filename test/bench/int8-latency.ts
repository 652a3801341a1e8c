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
 * the report's own (src/runtime/latency.ts `compareModels`, in process): fp32 and int8 run
 * alternately on the same seeded input, at least `--rounds` × `--runs` runs each and 0.5 s; the
 * table shows p50(fp32) / p50(int8) with each side's p10–p90, the share of paired runs int8 won,
 * and the fastest-call ratio over 5 rounds with its range (what placement compares: steadier
 * under load). The machine's load average is printed before and after. "ORT int8 convs" counts QLinearConv against float
 * Conv in onnxruntime's optimized graph. `--profile` adds onnxruntime's per-node kernel times
 * (median µs per run, batch = the first of --batch). Accuracy is top-1 on the held-out
 * mnist-test. Not part of the test suite.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { env } from 'onnxruntime-node';
import { openDataset } from '../../src/data/dataset.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import type { QuantizeOptions } from '../../src/quant/int8/types.ts';
import { compareModels, type PairedTiming } from '../../src/runtime/latency.ts';
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
  /** onnxruntime session config entries of the int8 session. */
  config?: Record<string, string>;
}

const NO_PROPAGATION = { 'optimization.disable_specified_optimizers': 'QDQPropagationTransformer' };

function variants(m: Model): Variant[] {
  const { shallow, depthwise } = convs(m);
  const list: Variant[] = [
    { key: 'default', label: 'CLI defaults (prepared, target balanced)', quant: {} },
    { key: 'speed', label: 'target speed', quant: { target: 'speed' } },
    { key: 'size', label: 'target size (every planned layer int8)', quant: { target: 'size' } },
    { key: 'unprepared', label: 'prepare false, target size (before this work)', quant: { prepare: false, target: 'size' } },
    { key: 's8', label: 'size, s8 act', quant: { target: 'size', activationType: 'int8' } },
    { key: 's8-allowed', label: 'size, s8 act, session.qdqisint8allowed=1', quant: { target: 'size', activationType: 'int8' }, config: { 'session.qdqisint8allowed': '1' } },
    { key: 'per-tensor', label: 'size, per-tensor weights', quant: { target: 'size', perChannel: false } },
    { key: 'qoperator', label: 'size, QOperator', quant: { target: 'size', format: 'qoperator' } },
  ];
  if (shallow.length) {
    list.push({ key: 'all-int8', label: 'size, every Conv int8 (minConvInputChannels 0)', quant: { target: 'size', minConvInputChannels: 0 } });
    list.push({ key: 'noprop', label: 'size, no QDQ propagation (session option)', quant: { target: 'size' }, config: NO_PROPAGATION });
  }
  if (depthwise.length) list.push({ key: 'dw-float', label: `size, depthwise float (${depthwise.length})`, quant: { target: 'size', excludeNodes: depthwise } });
  const only = arg('variants', 'default,size,unprepared');
  return only === 'all' ? list : list.filter((v) => only.split(',').includes(v.key));
}

/** fp32 against int8 at one batch size, interleaved in this process. */
async function compare(fp32: Uint8Array, int8: Uint8Array, batch: number, config?: Record<string, string>): Promise<PairedTiming> {
  const c = await compareModels([fp32, int8], { batch, batch1: false, threads, optimization: opt, configs: [undefined, config], runIn: 'this process', minRuns: rounds * runs, warmup: 10 });
  return c.batchN[0]!;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');

async function profileLines(bytes: Uint8Array): Promise<string[]> {
  const p = await profileModel(bytes, { batch: batches[0], threads, minRuns: 10 * runs });
  return [`    total ${p.totalUs} µs`, ...p.nodes.map((n) => `    ${String(n.us).padStart(5)} µs  ${n.op.padEnd(24)} ${n.name}`)];
}

async function main(): Promise<void> {
  const fixtures = arg('fixtures', 'lenet5,mlp,dscnn,tinyvit').split(',');
  const accuracy = !flag('no-accuracy');
  console.log(`onnxruntime-node ${env.versions.common}, ${threads} thread(s), optimization ${opt}, ≥ ${rounds * runs} runs each interleaved; load average ${load()}\n`);
  console.log('| fixture | variant | Conv/Gemm/MatMul in float | ORT int8 convs | batch | fp32 ms p50 (p10–p90) | int8 ms p50 (p10–p90) | fp32/int8 p50 | int8 won | fastest/fastest (range) | top-1 % (fp32 → int8) |');
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
    if (flag('profile')) profiles.push(`${name} fp32`, ...(await profileLines(fp32)));
    for (const v of variants(await loadModel(fp32))) {
      const m = await loadModel(fp32);
      const result = await quantizeModel(m, v.quant, { calibration: calib });
      const bytes = modelToBytes(m);
      const ops = await optimizedOps(bytes, threads);
      const acc = accuracy ? `${(accF * 100).toFixed(2)} → ${((await evaluate(bytes)) * 100).toFixed(2)}` : '—';
      const int8Convs = ops.get('QLinearConv') ?? 0;
      const layers = result.keptFloat.filter((k) => ['Conv', 'Gemm', 'MatMul'].includes(k.opType)).map((k) => k.node);
      const inFloat = layers.length > 4 ? `${layers.length}: ${layers.slice(0, 3).join(', ')} …` : layers.join(', ') || '—';
      for (const batch of batches) {
        const c = await compare(fp32, bytes, batch, v.config);
        const ms = (t: PairedTiming['a']) => `${t.p50.toFixed(3)} (${t.p10.toFixed(3)}–${t.p90.toFixed(3)})`;
        const f = c.fastest;
        console.log(
          `| ${name} | ${v.label} | ${inFloat} | ${int8Convs}/${int8Convs + (ops.get('Conv') ?? 0)} | ${batch} | ${ms(c.a)} | ${ms(c.b)} | **${c.speedup.toFixed(2)}×** | ${Math.round(c.bFasterRounds * 100)} % of ${c.a.runs} | ${f.ratio.toFixed(2)}× (${f.lo.toFixed(2)}–${f.hi.toFixed(2)}) | ${acc} |`,
        );
      }
      if (flag('profile')) profiles.push(`${name} ${v.key}`, ...(await profileLines(bytes)));
    }
  }
  await test.close();
  await calib.close();
  console.log(`\nload average after: ${load()}`);
  if (profiles.length) console.log(`\nPer-node kernel time (onnxruntime profiler, median per run, batch ${batches[0]}):\n${profiles.join('\n')}`);
}

await main();
