/**
 * The int4 figures in docs/quantization.md, measured on this machine:
 * 1. a transformer fixture (default fixtures/tinyvit.onnx) quantized by RTN and GPTQ into both
 *    formats: MatMul/Gemm weight bytes against fp32 (scales and zero points counted), top-1
 *    accuracy on the held-out test split, and quantization time;
 * 2. latency of fp32 vs MatMulNBits vs DequantizeLinear in onnxruntime-node, side by side
 *    (interleaved rounds on the same inputs), on the fixture and on a generated 4×1024² MLP
 *    whose MatMuls dominate its run time.
 *
 * Run: npx tsx test/bench/int4-report.ts [--model fixtures/tinyvit.onnx]
 *   [--calib fixtures/data/mnist-calib.npz] [--test fixtures/data/mnist-test.npz]
 *   [--calib-samples 256] [--test-samples 0 (all)] [--block 32] [--runs 40] [--threads 0 (ORT's choice)]
 *   [--sweep (block sizes × schemes, and GPTQ calibrated in one pass vs layer by layer)]
 * Prints Markdown to stdout.
 */
import { parseArgs } from 'node:util';
import { openDataset } from '../../src/data/dataset.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { mulberry32 } from '../../src/math/random.ts';
import { constantValues } from '../../src/ops/infer.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { percentile } from '../../src/runtime/latency.ts';
import { planFeeds } from '../../src/runtime/feeds.ts';
import { createSession, type OptimizationLevel, type OrtSession as Session } from '../../src/runtime/ort.ts';
import { quantizeInt4 } from '../../passes/quantize-int4.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'fixtures/tinyvit.onnx' },
    calib: { type: 'string', default: 'fixtures/data/mnist-calib.npz' },
    test: { type: 'string', default: 'fixtures/data/mnist-test.npz' },
    'calib-samples': { type: 'string', default: '256' },
    'test-samples': { type: 'string', default: '0' },
    block: { type: 'string', default: '32' },
    runs: { type: 'string', default: '40' },
    sweep: { type: 'boolean', default: false },
    threads: { type: 'string', default: '0' },
  },
});
const blockSize = Number(args.block);
const runs = Number(args.runs);
const testLimit = Number(args['test-samples']) || undefined;
const threads = Number(args.threads);

async function quantize(bytes: Uint8Array, options: Record<string, unknown>) {
  const model = await loadModel(bytes);
  const t0 = performance.now();
  const result = await runPipeline(model, [{ pass: quantizeInt4, options: { blockSize, ...options } }]);
  return { model, seconds: (performance.now() - t0) / 1000, notes: result.notes };
}

/** Bytes of every MatMul/Gemm weight as stored: float constants, or the int4 tensors replacing them. */
function matmulWeightBytes(model: Model): number {
  let total = 0;
  for (const g of model.graph.walk()) {
    const consts = constantValues(g);
    const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    const size = (name: string | undefined) => (name ? (consts.get(name)?.byteLength ?? 0) : 0);
    for (const n of g.nodes) {
      if (n.opType === 'MatMulNBits') total += size(n.inputs[1]) + size(n.inputs[2]) + size(n.inputs[3]);
      if ((n.opType === 'MatMul' || n.opType === 'Gemm') && n.domain === '') {
        const w = n.inputs[1]!;
        const dq = producer.get(w);
        if (dq?.opType === 'DequantizeLinear') total += size(dq.inputs[0]) + size(dq.inputs[1]) + size(dq.inputs[2]);
        else total += size(w);
      }
    }
  }
  return total;
}

function withAccuracyLevel(model: Model, level: number): Uint8Array {
  for (const g of model.graph.walk()) for (const n of g.nodes) if (n.opType === 'MatMulNBits') n.setAttr('accuracy_level', level);
  return modelToBytes(model);
}

async function accuracy(bytes: Uint8Array, optimization: OptimizationLevel = 'all'): Promise<number> {
  const ds = await openDataset(args.test!);
  try {
    return (await accuracyEvaluator(ds, { batchSize: 100, limit: testLimit, optimization })(bytes)) * 100;
  } finally {
    await ds.close();
  }
}

/** p50 milliseconds per call at batch 1 and 32, variants timed in interleaved rounds. */
async function latencies(variants: Record<string, Uint8Array>): Promise<Record<string, [number, number]>> {
  const sessions: Record<string, Session> = {};
  for (const [name, bytes] of Object.entries(variants)) sessions[name] = await createSession(bytes, { label: name, threads });
  const out: Record<string, [number, number]> = {};
  try {
    for (const [i, batch] of [1, 32].entries()) {
      const plans = Object.fromEntries(Object.entries(sessions).map(([name, s]) => [name, planFeeds(s, batch, mulberry32(1))]));
      const samples: Record<string, number[]> = Object.fromEntries(Object.keys(sessions).map((n) => [n, []]));
      for (let round = -3; round < runs; round++) {
        for (const [name, s] of Object.entries(sessions)) {
          const plan = plans[name]!;
          const t0 = performance.now();
          for (let c = 0; c < plan.calls; c++) await s.run(plan.feeds);
          if (round >= 0) samples[name]!.push(performance.now() - t0);
        }
      }
      for (const [name, ms] of Object.entries(samples)) {
        out[name] ??= [0, 0];
        out[name]![i] = percentile([...ms].sort((a, b) => a - b), 0.5);
      }
    }
  } finally {
    for (const s of Object.values(sessions)) await s.close();
  }
  return out;
}

function mlp(width: number, layers: number): Uint8Array {
  const b = new GraphBuilder('mlp', { opsets: { '': 17 } });
  let h = b.input('x', 'float32', ['N', width]);
  const rng = mulberry32(5);
  for (let l = 0; l < layers; l++) {
    const w = b.initializer(`w${l}`, Float32Array.from({ length: width * width }, () => (rng() * 2 - 1) / Math.sqrt(width)), [width, width]);
    [h] = b.node('MatMul', [h, w]);
    if (l < layers - 1) [h] = b.node('Relu', [h]);
  }
  b.output(h, 'float32', ['N', width]);
  return modelToBytes(b.build());
}

const fmt = (v: number, d = 2) => v.toFixed(d);

async function main() {
  const fp32 = modelToBytes(await loadModel(args.model!));
  const fp32Model = await loadModel(fp32);
  const fp32Bytes = matmulWeightBytes(fp32Model);
  const base = await accuracy(fp32);
  const calib = { calib: args.calib, calibSamples: Number(args['calib-samples']) };
  const lines: string[] = [];
  lines.push(`Model \`${args.model}\` (${fp32.length} bytes), MatMul/Gemm weights ${fp32Bytes} bytes fp32; block ${blockSize}, symmetric int4; test split ${args.test}${testLimit ? ` (first ${testLimit})` : ''}; GPTQ calibrated on ${calib.calibSamples} samples of ${args.calib}.`, '');
  lines.push('| variant | MatMul weight bytes | × fp32 | top-1 % | Δ pt | quantize s |', '|---|---|---|---|---|---|');
  lines.push(`| fp32 | ${fp32Bytes} | 1 | ${fmt(base)} | — | — |`);
  const forLatency: Record<string, Uint8Array> = { fp32 };
  for (const algorithm of ['rtn', 'gptq'] as const) {
    for (const format of ['matmulnbits', 'dq'] as const) {
      const q = await quantize(fp32, { algorithm, format, ...(algorithm === 'gptq' ? calib : {}) });
      const bytes = matmulWeightBytes(q.model);
      const row = (label: string, acc: number) => `| ${algorithm.toUpperCase()} ${label} | ${bytes} | ${fmt(bytes / fp32Bytes, 3)} | ${fmt(acc)} | ${fmt(acc - base)} | ${fmt(q.seconds, 1)} |`;
      if (format === 'matmulnbits') {
        const l0 = modelToBytes(q.model);
        const l4 = withAccuracyLevel(q.model, 4);
        lines.push(row('MatMulNBits (accuracy_level 0)', await accuracy(l0)));
        lines.push(row('MatMulNBits (accuracy_level 4: int8 activations)', await accuracy(l4)));
        if (algorithm === 'gptq') Object.assign(forLatency, { 'MatMulNBits L0': l0, 'MatMulNBits L4': l4 });
      } else {
        const dq = modelToBytes(q.model);
        lines.push(row('DequantizeLinear (ORT basic: dequantize + MatMul)', await accuracy(dq, 'basic')));
        lines.push(row('DequantizeLinear (ORT all: fused to MatMulNBits, int8 activations)', await accuracy(dq, 'all')));
        if (algorithm === 'gptq') forLatency['DequantizeLinear'] = dq;
      }
      for (const n of q.notes.filter((m) => m.includes('GPTQ calibration'))) lines.push(`<!-- ${format}: ${n} -->`);
    }
  }
  if (args.sweep) {
    lines.push('', 'MatMulNBits, accuracy_level 0:', '', '| block | scheme | weight × fp32 | RTN top-1 % | GPTQ top-1 % (layer by layer) | GPTQ top-1 % (one calibration pass) |', '|---|---|---|---|---|---|');
    for (const b of [32, 64, 128]) {
      for (const symmetric of [true, false]) {
        const r = await quantize(fp32, { blockSize: b, symmetric });
        const g = await quantize(fp32, { blockSize: b, symmetric, algorithm: 'gptq', ...calib });
        const g1 = await quantize(fp32, { blockSize: b, symmetric, algorithm: 'gptq', sequential: false, ...calib });
        const acc = async (m: Model) => fmt(await accuracy(modelToBytes(m)));
        lines.push(`| ${b} | ${symmetric ? 'symmetric' : 'asymmetric'} | ${fmt(matmulWeightBytes(g.model) / fp32Bytes, 3)} | ${await acc(r.model)} | ${await acc(g.model)} | ${await acc(g1.model)} |`);
      }
    }
  }
  const lat = async (title: string, variants: Record<string, Uint8Array>) => {
    const t = await latencies(variants);
    lines.push('', `${title}: p50 ms per call, ${runs} interleaved rounds after 3 warm-up, ${threads ? `${threads} intra-op thread(s)` : 'ORT default threads'}, optimizations 'all'.`, '');
    lines.push('| variant | batch 1 ms | × fp32 | batch 32 ms | × fp32 |', '|---|---|---|---|---|');
    const [f1, f32] = t['fp32']!;
    for (const [name, [b1, b32]] of Object.entries(t)) lines.push(`| ${name} | ${fmt(b1, 3)} | ${fmt(f1 / b1)} | ${fmt(b32, 3)} | ${fmt(f32 / b32)} |`);
  };
  await lat(`Latency, \`${args.model}\``, forLatency);
  const big = mlp(1024, 4);
  const bigNbits = await quantize(big, {});
  const bigDq = await quantize(big, { format: 'dq' });
  await lat('Latency, generated MLP 4 × MatMul 1024×1024 (16 MB fp32 weights)', {
    fp32: big,
    'MatMulNBits L0': modelToBytes(bigNbits.model),
    'MatMulNBits L4': withAccuracyLevel(bigNbits.model, 4),
    DequantizeLinear: modelToBytes(bigDq.model),
  });
  console.log(lines.join('\n'));
}

await main();
