import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CheckError, InputError } from '../../src/errors.ts';
import { isSlower, latencyForReport } from '../../src/evaluate/latency.ts';
import { createSession } from '../../src/runtime/ort.ts';
import { planFeeds } from '../../src/runtime/feeds.ts';
import { mulberry32 } from '../../src/math/random.ts';
import { compareModels, LatencyNotMeasured, measureLatency, percentile, roundOrders, summarize } from '../../src/runtime/latency.ts';
import { classifier, identity, mixedInputs } from './tiny-model.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { errorOf } from '../helpers/errors.ts';

// Short timing budgets: these tests check the method, not a machine's speed.
const QUICK = { minRuns: 5, minSeconds: 0.02, warmup: 1 };

/** x[N, 4] through `layers` MatMuls of width `width`: a model whose cost grows with both. */
function matmuls(width: number, layers: number): Model {
  const b = new GraphBuilder(`mm${width}x${layers}`, { opsets: { '': 17 } });
  let h = b.node('MatMul', [b.input('x', 'float32', ['N', 4]), b.initializer('w_in', new Float32Array(4 * width).fill(0.01), [4, width])])[0]!;
  for (let i = 0; i < layers; i++) h = b.node('MatMul', [h, b.initializer(`w${i}`, new Float32Array(width * width).fill(0.001), [width, width])])[0]!;
  b.output(h, 'float32', ['N', width]);
  return b.build();
}

/** out = Reshape(x, shape): `shape` fixed to [3] makes every x[N, 4] a failure at run time. */
function badReshape(shapeAsInput: boolean): Model {
  const b = new GraphBuilder('reshape', { opsets: { '': 17 } });
  const x = b.input('x', 'float32', ['N', 4]);
  const shape = shapeAsInput ? b.input('shape', 'int64', [1]) : b.initializer('shape', new BigInt64Array([3n]), [1]);
  b.output(b.node('Reshape', [x, shape])[0]!, 'float32', [3]);
  return b.build();
}

describe('runtime/latency', () => {
  it('latency: batch 1 and batch N in a child process, 1 thread by default, p10 ≤ p50 ≤ p90, runs to fill the minimum time', async () => {
    const r = await measureLatency(classifier().bytes, { batch: 16, minRuns: 5, minSeconds: 0.3, warmup: 1 });
    expect(r.threads).toBe(1);
    expect(r.batchN.n).toBe(16);
    for (const t of [r.batch1, r.batchN]) {
      expect(t.p10).toBeGreaterThan(0);
      expect(t.p50).toBeGreaterThanOrEqual(t.p10);
      expect(t.p90).toBeGreaterThanOrEqual(t.p50);
    }
    // Microseconds per run (milliseconds when the machine is loaded): 300 ms takes more runs than the minimum count.
    expect(r.batch1.runs).toBeGreaterThan(5);
    expect(r.batchN.runs).toBeGreaterThan(5);
  });

  it('latency: the time cap bounds the runs of a slow model', async () => {
    const r = await measureLatency(matmuls(256, 8), { minRuns: 1000, minSeconds: 0, maxSeconds: 0.001, warmup: 1, batch: 2 });
    expect(r.batch1.runs).toBeGreaterThanOrEqual(3);
    expect(r.batch1.runs).toBeLessThan(1000);
  });

  it('latency: two models timed interleaved; a slower candidate gets a warning naming the batch size and the thread count', async () => {
    const r = await latencyForReport([{ source: matmuls(64, 1), label: 'in.onnx' }, { source: matmuls(256, 16), label: 'out.onnx' }], { batch: 8, ...QUICK });
    const [a, b] = r.stages!;
    expect(a!.threads).toBe(1);
    expect(a!.batch1.runs).toBe(b!.batch1.runs);
    expect(a!.batchN.n).toBe(8);
    expect(b!.batch1.p50).toBeGreaterThan(a!.batch1.p50);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toMatch(/^warning: out\.onnx is slower than in\.onnx at batch 1: 0\.\d\d× \(p50 .* ms → .* ms; slower in \d+% of \d+ interleaved runs, 1 intra-op thread\)$/);
    expect(r.warnings[1]).toMatch(/at batch 8:/);
  });

  it('latency: batch N only, in process, several models against the first, with the per-round fastest-call ratio', async () => {
    const c = await compareModels([matmuls(64, 1), matmuls(256, 16), matmuls(64, 1)], { batch: 8, batch1: false, runIn: 'this process', ...QUICK });
    expect(c.batch1).toBeUndefined();
    expect(c.n).toBe(8);
    const [slow, same] = c.batchN;
    expect(slow!.a.runs).toBe(slow!.b.runs);
    expect(slow!.speedup).toBeLessThan(1);
    expect(slow!.fastest.hi).toBeLessThan(1);
    expect(slow!.fastest.lo).toBeLessThanOrEqual(slow!.fastest.ratio);
    expect(slow!.fastest.ratio).toBeLessThanOrEqual(slow!.fastest.hi);
    // The same model: its fastest calls are about as fast.
    expect(same!.fastest.ratio).toBeGreaterThan(0.5);
    expect(same!.fastest.ratio).toBeLessThan(2);
  });

  it('latency: two models alternate A B, B A; more never run one model twice in a row and each starts rounds alike', () => {
    const two = roundOrders(2, 1);
    expect([two(), two(), two(), two()]).toEqual([[0, 1], [1, 0], [0, 1], [1, 0]]);
    const next = roundOrders(4, 1);
    const runs = Array.from({ length: 400 }, () => next()).flat();
    expect(runs.every((m, i) => i === 0 || m !== runs[i - 1])).toBe(true);
    const firsts = [0, 1, 2, 3].map((m) => runs.filter((x, i) => i % 4 === 0 && x === m).length);
    for (const f of firsts) expect(f).toBeGreaterThan(70); // 100 each on average
    const again = roundOrders(4, 1);
    expect(Array.from({ length: 400 }, () => again()).flat()).toEqual(runs);
  });

  it('latency: values given whole are what is fed, at the batch they have', async () => {
    const x = { dtype: 'float32' as const, shape: [3, 4], data: new Float32Array(12).fill(0.5) };
    const c = await compareModels([matmuls(8, 1), matmuls(8, 1)], { batch: 3, batch1: false, values: { x }, runIn: 'this process', ...QUICK });
    expect(c.batchN[0]!.a.runs).toBeGreaterThanOrEqual(5);
    const wrong = await errorOf(compareModels([matmuls(8, 1), matmuls(8, 1)], { batch: 3, batch1: false, runIn: 'this process', values: { x: { ...x, shape: [3, 5], data: new Float32Array(15) } }, ...QUICK }));
    expect(wrong.message).toMatch(/the value given for input 'x' has shape/);
  });

  it('latency: slower means below 1 beyond noise (sign test over the paired runs) or by more than 20 %', () => {
    const pair = (speedup: number, bFasterRounds: number, runs: number) => {
      const t = { p10: 1, p50: 1, p90: 1, runs };
      return { a: t, b: t, speedup, bFasterRounds, fastest: { ratio: speedup, lo: speedup, hi: speedup } };
    };
    expect(isSlower(pair(0.95, 0.5, 1000))).toBe(false); // an even split: noise
    expect(isSlower(pair(0.95, 0.4, 1000))).toBe(true); // 600 of 1000 slower: z ≈ 6.3
    expect(isSlower(pair(0.9, 0.35, 30))).toBe(false); // 20 of 30 slower: z ≈ 1.6
    expect(isSlower(pair(0.5, 0.35, 30))).toBe(true); // half the speed at the median
    expect(isSlower(pair(1.2, 0.1, 1000))).toBe(false);
  });

  it('latency: onnxruntime failing on the random inputs is a note; the candidate failing where its reference runs, a failed check when it must run', async () => {
    const models = [{ source: matmuls(8, 1), label: 'in.onnx' }, { source: badReshape(false), label: 'out.onnx' }] as const;
    const r = await latencyForReport(models, QUICK);
    expect(r.stages).toBeUndefined();
    expect(r.notes).toEqual([expect.stringMatching(/^latency not measured: onnxruntime rejected out\.onnx: /)]);
    const err = await errorOf(latencyForReport(models, { ...QUICK, candidateMustRun: true }));
    expect(err).toBeInstanceOf(CheckError);
    expect(err.message).toMatch(/^out\.onnx fails on random inputs that in\.onnx runs on: onnxruntime rejected out\.onnx: /);
  });

  it('latency: a model onnxruntime cannot load stays an InputError (not a note)', async () => {
    const err = await errorOf(measureLatency(new Uint8Array([1, 2, 3]), QUICK));
    expect(err).toBeInstanceOf(InputError);
    expect(err).not.toBeInstanceOf(LatencyNotMeasured);
    expect(err.message).toMatch(/^onnxruntime rejected model 1: /);
  });

  it('latency: roles keep a shape input valid where plain random values (0 or 1) fail', async () => {
    // [-1] flattens any x: an integer role of exactly -1.
    const r = await measureLatency(badReshape(true), { ...QUICK, roles: { shape: { kind: 'integer', min: -1, max: -1 } } });
    expect(r.batch1.p50).toBeGreaterThan(0);
  });

  // ONNX's own backend test model (Debian libonnx-testdata, dev machines only): random inputs
  // drive onnxruntime 1.30's STFT into a division by zero (SIGFPE).
  const stft = '/usr/share/libonnx-testdata/data/node/test_stft/model.onnx';
  it.skipIf(!existsSync(stft))('latency: a native crash of onnxruntime becomes a note, and this process lives on', async () => {
    const r = await latencyForReport([{ source: stft, label: stft }], QUICK);
    expect(r.notes).toEqual(['latency not measured: onnxruntime crashed (SIGFPE) on random inputs']);
  });

  it('latency: feeds of every dtype get their type and the batch bound to the symbolic dim', async () => {
    const session = await createSession(mixedInputs());
    const plan = planFeeds(session, 5, mulberry32(3));
    expect(plan.calls).toBe(1);
    expect(Object.fromEntries(Object.entries(plan.feeds).map(([k, t]) => [k, [t.dtype, t.dims]]))).toEqual({
      f: ['float32', [5, 4]], i: ['int64', [5, 2]], u: ['uint8', [5, 3]],
    });
    const f = plan.feeds.f!.data as Float32Array;
    expect(f.every((v) => v >= -1 && v < 1)).toBe(true);
    expect(new Set(plan.feeds.i!.data as BigInt64Array)).toEqual(new Set([0n, 1n]));
    const withRole = planFeeds(session, 5, mulberry32(3), {}, { i: { kind: 'index', bound: 7 } });
    expect((withRole.feeds.i!.data as BigInt64Array).every((v) => v >= 0n && v < 7n)).toBe(true);
    expect(new Set(withRole.feeds.i!.data as BigInt64Array).size).toBeGreaterThan(2);
    const out = await session.run(plan.feeds);
    expect(out.u_out!.dims).toEqual([5, 3]);
    await session.close();
  });

  it('latency: a model with batch fixed to 1 needs N calls for batch N', async () => {
    const session = await createSession(classifier({ batch: 1 }).bytes);
    const plan = planFeeds(session, 7, mulberry32(1));
    expect(plan.calls).toBe(7);
    expect(plan.feeds.x!.dims).toEqual([1, 4]);
    await session.close();
  });

  it('latency: other symbolic dims need a size, and get the one given', async () => {
    const session = await createSession(identity(['N', 'seq']), { label: 'seq.onnx' });
    expect(() => planFeeds(session, 2, mulberry32(1))).toThrow(InputError);
    expect(() => planFeeds(session, 2, mulberry32(1))).toThrow('seq.onnx: input "x" has symbolic dim "seq" at axis 1; give its size with --input-shape x:1,N or --dim seq=N');
    expect(planFeeds(session, 2, mulberry32(1), { dims: { seq: 9 } }).feeds.x!.dims).toEqual([2, 9]);
    // A whole shape: the free batch dim still takes the batch measured.
    expect(planFeeds(session, 2, mulberry32(1), { inputs: { x: [1, 5] } }).feeds.x!.dims).toEqual([2, 5]);
    expect(() => planFeeds(session, 2, mulberry32(1), { inputs: { x: [1, 5, 3] } })).toThrow('seq.onnx: --input-shape x:1,5,3 does not fit input "x" of shape [N,seq]');
    await session.close();
    const err = await errorOf(measureLatency(identity(['N', 'seq']), QUICK));
    expect(err).toBeInstanceOf(LatencyNotMeasured);
    expect(err.message).toMatch(/has symbolic dim "seq" at axis 1; give its size with --input-shape x:1,N or --dim seq=N$/);
  });

  it('latency: the same seed gives the same inputs, another seed others', async () => {
    const session = await createSession(classifier().bytes);
    const data = (seed: number) => Array.from(planFeeds(session, 4, mulberry32(seed)).feeds.x!.data as Float32Array);
    expect(data(42)).toEqual(data(42));
    expect(data(42)).not.toEqual(data(43));
    await session.close();
  });

  it('latency: mulberry32 draws from [0, 1) with a mean near 0.5', () => {
    const r = mulberry32(123);
    const v = Array.from({ length: 10_000 }, r);
    expect(v.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(v.reduce((a, b) => a + b, 0) / v.length).toBeCloseTo(0.5, 1);
  });

  it('latency: percentiles interpolate like numpy', () => {
    // numpy.percentile([1, 2, 3, 4], [10, 50, 90]) == [1.3, 2.5, 3.7]
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 0.9)).toBeCloseTo(3.7, 12);
    expect(percentile([5], 0.9)).toBe(5);
    expect(summarize([4, 1, 3, 2])).toEqual({ p10: expect.closeTo(1.3, 12), p50: 2.5, p90: expect.closeTo(3.7, 12), runs: 4 });
  });

  it('latency: bad counts are an InputError before any child starts', async () => {
    await expect(measureLatency(classifier().bytes, { minRuns: 0 })).rejects.toThrow(InputError);
    await expect(measureLatency(classifier().bytes, { threads: 1.5 })).rejects.toThrow('latency: batch (32), threads (1.5)');
  });

  it('latency: bool, int8, uint16 and float64 inputs get random values too', async () => {
    const b = new GraphBuilder('types');
    const types = ['bool', 'int8', 'uint16', 'float64'] as const;
    const inputs = types.map((t) => b.input(t, t, ['N', 3]));
    inputs.forEach((x, i) => b.output(b.node('Identity', [x])[0]!, types[i]!, ['N', 3]));
    const session = await createSession(b.build(), { label: 'types.onnx' });
    const plan = planFeeds(session, 2, mulberry32(5));
    expect(Object.values(plan.feeds).map((t) => [t.dtype, t.dims])).toEqual([['bool', [2, 3]], ['int8', [2, 3]], ['uint16', [2, 3]], ['float64', [2, 3]]]);
    expect(Object.keys(await session.run(plan.feeds))).toHaveLength(4);
    await session.close();
  });
});
