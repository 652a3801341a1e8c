/**
 * Why static int8 is (or is not) faster than fp32 in onnxruntime-node, on the CNN fixtures:
 *
 *   npx tsx test/bench/int8-latency.ts [--fixtures lenet5,dscnn] [--batch 32] [--threads 1]
 *     [--rounds 15] [--runs 20] [--opt all] [--variants default,s8,…] [--profile] [--no-accuracy]
 *
 * Each fixture is cleaned (BatchNorm folded); that float model is the baseline. Every variant is
 * quantized from it (512 samples of mnist-calib) and timed against it side by side: in each
 * round the float session and the variant's session are timed one after the other (p50 of
 * `--runs` calls each, on the same seeded input) and the round's ratio fp32 ms / int8 ms is
 * kept; the table shows the median ratio over the rounds and its range. "ORT int8 convs" counts
 * QLinearConv against float Conv in onnxruntime's optimized graph (did DQ → Conv → Q fuse?).
 * `--profile` adds onnxruntime's per-node kernel times (median µs per run). Accuracy is top-1 on
 * the held-out mnist-test. Not part of the test suite.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { cleanup } from '../../passes/cleanup.ts';
import { openDataset } from '../../src/data/dataset.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { mulberry32 } from '../../src/math/random.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import type { QuantizeOptions } from '../../src/quant/int8/types.ts';
import { arg, flag } from './args.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const data = (name: string) => `${root}fixtures/data/mnist-${name}.npz`;

const batch = Number(arg('batch', '32'));
const threads = Number(arg('threads', '1'));
const rounds = Number(arg('rounds', '15'));
const runs = Number(arg('runs', '20'));
const opt = arg('opt', 'all') as 'disabled' | 'basic' | 'extended' | 'all';
const work = mkdtempSync(join(tmpdir(), 'int8-latency-'));

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
    { key: 'default', label: `QDQ, u8 act, per-channel (default${shallow.length ? `: ${shallow.join(',')} float, Cin < 4` : ''})`, quant: {} },
    { key: 's8', label: 'QDQ, s8 act', quant: { activationType: 'int8' } },
    { key: 's8-allowed', label: 'QDQ, s8 act, session.qdqisint8allowed=1', quant: { activationType: 'int8' }, extra: { session: { qdqisint8allowed: '1' } } },
    { key: 'per-tensor', label: 'QDQ, per-tensor weights', quant: { perChannel: false } },
    { key: 'qoperator', label: 'QOperator, u8 act', quant: { format: 'qoperator' } },
  ];
  if (shallow.length) {
    list.push({ key: 'all-int8', label: 'every Conv int8 (minConvInputChannels 0)', quant: { minConvInputChannels: 0 } });
    list.push({ key: 'noprop', label: 'default, no QDQ propagation (session option)', quant: {}, extra: NO_PROPAGATION });
  }
  if (depthwise.length) list.push({ key: 'dw-float', label: `depthwise float (${depthwise.length})`, quant: { excludeNodes: depthwise } });
  const only = arg('variants', '');
  return only ? list.filter((v) => only.split(',').includes(v.key)) : list;
}

async function session(bytes: Uint8Array, extra: Record<string, unknown> = {}, more: ort.InferenceSession.SessionOptions = {}) {
  return ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: opt, logSeverityLevel: 3, extra, ...more,
  });
}

const median = (v: readonly number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

function feeds(): Record<string, ort.Tensor> {
  const rng = mulberry32(1);
  const x = Float32Array.from({ length: batch * 784 }, () => rng());
  return { input: new ort.Tensor('float32', x, [batch, 1, 28, 28]) };
}

/** p50 ms of `runs` calls. */
async function p50(s: ort.InferenceSession, f: Record<string, ort.Tensor>): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    await s.run(f);
    t.push(performance.now() - a);
  }
  return median(t);
}

/** Op histogram of onnxruntime's optimized graph. */
async function optimizedOps(bytes: Uint8Array, extra?: Record<string, unknown>): Promise<Map<string, number>> {
  const path = join(work, `opt-${Math.random().toString(36).slice(2)}.onnx`);
  await (await session(bytes, extra, { optimizedModelFilePath: path })).release();
  const ops = new Map<string, number>();
  for (const n of (await loadModel(path)).graph.nodes) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
  return ops;
}

/** Per-node kernel time, median µs per run, from onnxruntime's profiler. */
async function profile(bytes: Uint8Array, f: Record<string, ort.Tensor>, extra?: Record<string, unknown>): Promise<string[]> {
  const dir = mkdtempSync(join(work, 'prof-'));
  const s = await session(bytes, extra, { enableProfiling: true, profileFilePrefix: join(dir, 'p') });
  for (let i = 0; i < 10 * runs; i++) await s.run(f);
  s.endProfiling();
  await s.release();
  const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8')) as { cat: string; name: string; dur: number; args: { op_name?: string } }[];
  const nodes = new Map<string, { op: string; us: number[] }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const k = e.name.slice(0, -'_kernel_time'.length);
    const n = nodes.get(k) ?? nodes.set(k, { op: e.args.op_name ?? '?', us: [] }).get(k)!;
    n.us.push(e.dur);
  }
  const rows = [...nodes].map(([k, n]) => ({ k, op: n.op, us: median(n.us) }));
  const total = rows.reduce((a, r) => a + r.us, 0);
  return [`    total ${total} µs`, ...rows.map((r) => `    ${String(r.us).padStart(5)} µs  ${r.op.padEnd(24)} ${r.k}`)];
}

async function main(): Promise<void> {
  const fixtures = arg('fixtures', 'lenet5,dscnn').split(',');
  const accuracy = !flag('no-accuracy');
  const input = feeds();
  console.log(`onnxruntime-node ${ort.env.versions.common}, batch ${batch}, ${threads} thread(s), optimization ${opt}, ${rounds} rounds × ${runs} runs\n`);
  console.log('| fixture | variant | ORT int8 convs | fp32 ms | int8 ms | fp32/int8 (median) | range | top-1 % (fp32 → int8) |');
  console.log('|---|---|---|---|---|---|---|---|');
  const profiles: string[] = [];
  for (const fixture of fixtures) {
    const base = await loadModel(`${root}fixtures/${fixture}.onnx`);
    await runPipeline(base, [{ pass: cleanup }]);
    const fp32 = modelToBytes(base);
    const test = await openDataset(data('test'));
    const calib = await openDataset(data('calib'));
    const evaluate = accuracyEvaluator(test);
    const accF = accuracy ? await evaluate(fp32) : NaN;
    const float = await session(fp32);
    if (flag('profile')) profiles.push(`${fixture} fp32`, ...(await profile(fp32, input)));
    for (const v of variants(base)) {
      const m = await loadModel(fp32);
      await quantizeModel(m, v.quant, { calibration: calib });
      const bytes = modelToBytes(m);
      const ops = await optimizedOps(bytes, v.extra);
      const q = await session(bytes, v.extra);
      for (let i = 0; i < 10; i++) {
        await float.run(input);
        await q.run(input);
      }
      const ratios: number[] = [];
      const msF: number[] = [];
      const msQ: number[] = [];
      for (let r = 0; r < rounds; r++) {
        msF.push(await p50(float, input));
        msQ.push(await p50(q, input));
        ratios.push(msF.at(-1)! / msQ.at(-1)!);
      }
      await q.release();
      const int8Convs = ops.get('QLinearConv') ?? 0;
      const acc = accuracy ? `${(accF * 100).toFixed(2)} → ${((await evaluate(bytes)) * 100).toFixed(2)}` : '—';
      console.log(
        `| ${fixture} | ${v.label} | ${int8Convs}/${int8Convs + (ops.get('Conv') ?? 0)} | ${median(msF).toFixed(3)} | ${median(msQ).toFixed(3)} | **${median(ratios).toFixed(2)}×** | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} | ${acc} |`,
      );
      if (flag('profile')) profiles.push(`${fixture} ${v.key}`, ...(await profile(bytes, input, v.extra)));
    }
    await float.release();
    await test.close();
    await calib.close();
  }
  if (profiles.length) console.log(`\nPer-node kernel time (onnxruntime profiler, median per run):\n${profiles.join('\n')}`);
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
