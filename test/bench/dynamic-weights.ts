/**
 * Dynamic int8 for Conv and LSTM: which form onnxruntime runs best, measured.
 *
 *   npx tsx test/bench/dynamic-weights.ts [--rounds 9] [--runs 15] [--threads 1]
 *
 * One generated CNN (x [N,32,32,32] → 3 × Conv 3×3 64 ch + Relu → GlobalAveragePool → Gemm)
 * in three forms: float; per-channel int8 weights read by DequantizeLinear (weight-only); and
 * what `quantize --mode dynamic` writes for the convs: DynamicQuantizeLinear → ConvInteger →
 * Cast → Mul (uint8 input quantized at run time, per-channel int8 weights). The Gemm stays float. Each round times every form
 * one after the other (p50 of `--runs` calls) at batch 1 and 32; the table shows the median
 * over the rounds, and the file size.
 *
 * One LSTM (T = 20, input 128, hidden 256, one direction) in three forms: float; W and R as
 * int8 + DequantizeLinear per gate row (weight-only); and what `quantize --mode dynamic`
 * writes: com.microsoft DynamicQuantizeLSTM (int8 W/R transposed to [D, in, 4H], per gate-row
 * scales), onnxruntime's integer LSTM. Not part of the test suite.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { quantizePerChannelSymmetric } from '../../src/quant/scales.ts';
import { randomFloats } from '../helpers/run-model.ts';
import { arg } from './args.ts';

const rounds = Number(arg('rounds', '9'));
const runs = Number(arg('runs', '15'));
const threads = Number(arg('threads', '1'));
const C = 64;

function cnn(form: 'float' | 'dq'): Model {
  const b = new GraphBuilder('cnn', { opsets: { '': 17 } });
  let x = b.input('x', 'float32', ['N', 32, 32, 32]);
  let cin = 32;
  for (let i = 0; i < 3; i++) {
    const dims = [C, cin, 3, 3];
    const w = randomFloats(C * cin * 9, 10 + i).map((v) => v * 0.1);
    let weight = b.initializer(`w${i}`, w, dims);
    if (form === 'dq') {
      const { scales, values } = quantizePerChannelSymmetric(w, dims, 0);
      b.graph.initializers.delete(weight);
      [weight] = b.node('DequantizeLinear', [b.initializer(`wq${i}`, values, dims), b.initializer(`ws${i}`, scales, [C])], { axis: 0 });
    }
    const [y] = b.node('Conv', [x, weight!, b.initializer(`b${i}`, randomFloats(C, 20 + i).map((v) => v * 0.1), [C])], { pads: [1, 1, 1, 1] });
    [x] = b.node('Relu', [y!]);
    cin = C;
  }
  const [p] = b.node('GlobalAveragePool', [x]);
  const [f] = b.node('Flatten', [p!]);
  b.node('Gemm', [f!, b.initializer('fc', randomFloats(C * 10, 30), [C, 10])], {}, { outputs: ['y'] });
  b.output('y', 'float32', ['N', 10]);
  return b.build();
}

const H = 256;
const IN = 128;
const T = 20;

function lstm(form: 'float' | 'dq'): Model {
  const b = new GraphBuilder('lstm', { opsets: { '': 17 } });
  b.input('x', 'float32', [T, 'N', IN]);
  const weight = (name: string, rows: number, cols: number, seed: number) => {
    const v = randomFloats(rows * cols, seed).map((x) => x * 0.1);
    if (form === 'float') return b.initializer(name, v, [1, rows, cols]);
    const q = quantizePerChannelSymmetric(v, [1, rows, cols], 1);
    return b.node('DequantizeLinear', [b.initializer(`${name}q`, q.values, [1, rows, cols]), b.initializer(`${name}s`, q.scales, [rows])])[0]!;
  };
  const bias = b.initializer('b', randomFloats(8 * H, 3).map((v) => v * 0.1), [1, 8 * H]);
  b.node('LSTM', ['x', weight('w', 4 * H, IN, 1), weight('r', 4 * H, H, 2), bias], { hidden_size: H }, { outputs: ['y'] });
  b.output('y', 'float32', [T, 1, 'N', H]);
  return b.build();
}

type Input = (n: number, seed: number) => ort.Tensor;

/** Times every form at batch 1 and 32, interleaved; prints size, error vs float and speed. */
async function compare(title: string, forms: Record<string, Uint8Array>, input: Input) {
  const sessions = await Promise.all(Object.values(forms).map((b) => ort.InferenceSession.create(b, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' })));
  const times = Object.keys(forms).map(() => ({ 1: [] as number[], 32: [] as number[] }));
  // Error vs float on one batch of 32 inputs in [-1, 1): max |difference| / max |float output|.
  const probe = input(32, 99);
  const outs = await Promise.all(sessions.map(async (s) => (await s.run({ x: probe })).y!.data as Float32Array));
  const maxAbs = outs[0]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const errors = outs.map((o) => o.reduce((m, v, i) => Math.max(m, Math.abs(v - outs[0]![i]!)), 0) / maxAbs);
  for (let r = 0; r < rounds; r++) {
    for (const n of [1, 32] as const) {
      const x = input(n, r + 1);
      for (const [i, s] of sessions.entries()) {
        await s.run({ x });
        const t: number[] = [];
        for (let k = 0; k < runs; k++) {
          const t0 = performance.now();
          await s.run({ x });
          t.push(performance.now() - t0);
        }
        times[i]![n].push(t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
      }
    }
  }
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const base = { 1: med(times[0]![1]), 32: med(times[0]![32]) };
  const floatSize = Object.values(forms)[0]!.length;
  console.log(`\n${title}\n\n| form | size | max error / max \\|y\\| | batch 1 ms | vs float | batch 32 ms | vs float |\n|---|---|---|---|---|---|---|`);
  for (const [i, [name, bytes]] of Object.entries(forms).entries()) {
    const b1 = med(times[i]![1]);
    const b32 = med(times[i]![32]);
    console.log(`| ${name} | ${(bytes.length / 1024).toFixed(1)} KB (${(bytes.length / floatSize).toFixed(2)}×) | ${errors[i]!.toFixed(4)} | ${b1.toFixed(2)} | ${(base[1] / b1).toFixed(2)}× | ${b32.toFixed(1)} | ${(base[32] / b32).toFixed(2)}× |`);
  }
  for (const s of sessions) await s.release();
}

async function main() {
  const integer = cnn('float');
  await quantizeModel(integer, { mode: 'dynamic', opTypes: ['Conv'] });
  await compare(
    'Conv',
    {
      float: modelToBytes(cnn('float')),
      'int8 weights + DequantizeLinear (weight-only)': modelToBytes(cnn('dq')),
      'ConvInteger, input quantized at run time (quantize --mode dynamic)': modelToBytes(integer),
    },
    (n, seed) => new ort.Tensor('float32', randomFloats(n * 32 * 32 * 32, seed), [n, 32, 32, 32]),
  );
  const integerLstm = lstm('float');
  await quantizeModel(integerLstm, { mode: 'dynamic' });
  await compare(
    'LSTM',
    { float: modelToBytes(lstm('float')), 'W, R int8 + DequantizeLinear (weight-only)': modelToBytes(lstm('dq')), 'com.microsoft DynamicQuantizeLSTM (quantize --mode dynamic)': modelToBytes(integerLstm) },
    (n, seed) => new ort.Tensor('float32', randomFloats(T * n * IN, seed), [T, n, IN]),
  );
  console.log(`\n(${threads} thread, ${rounds} rounds × ${runs} runs, interleaved)`);
}

await main();
