import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { createSession } from '../../src/runtime/ort.ts';
import { planFeeds } from '../../src/runtime/feeds.ts';
import { mulberry32 } from '../../src/math/random.ts';
import { measureLatency, percentile, summarize } from '../../src/runtime/latency.ts';
import { classifier, identity, mixedInputs } from './tiny-model.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';

describe('runtime/latency', () => {
  it('latency: batch 1 and batch N timings are positive and ordered', async () => {
    const session = await createSession(classifier().bytes, { threads: 1 });
    const r = await measureLatency(session, { batch: 16, warmup: 1, runs: 5 });
    expect(r.batchN.n).toBe(16);
    for (const t of [r.batch1, r.batchN]) {
      expect(t.p50).toBeGreaterThan(0);
      expect(t.p90).toBeGreaterThanOrEqual(t.p50);
      expect(t.mean).toBeGreaterThan(0);
    }
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
    const out = await session.run(plan.feeds);
    expect(out.u_out!.dims).toEqual([5, 3]);
  });

  it('latency: a model with batch fixed to 1 needs N calls for batch N', async () => {
    const session = await createSession(classifier({ batch: 1 }).bytes);
    const plan = planFeeds(session, 7, mulberry32(1));
    expect(plan.calls).toBe(7);
    expect(plan.feeds.x!.dims).toEqual([1, 4]);
    const r = await measureLatency(session, { batch: 7, warmup: 0, runs: 2 });
    expect(r.batchN.p50).toBeGreaterThan(0);
  });

  it('latency: other symbolic dims need a size, and get the one given', async () => {
    const session = await createSession(identity(['N', 'seq']), { label: 'seq.onnx' });
    expect(() => planFeeds(session, 2, mulberry32(1))).toThrow(InputError);
    expect(() => planFeeds(session, 2, mulberry32(1))).toThrow('seq.onnx: input "x" has symbolic dim "seq" at axis 1; give its size');
    expect(planFeeds(session, 2, mulberry32(1), { seq: 9 }).feeds.x!.dims).toEqual([2, 9]);
  });

  it('latency: the same seed gives the same inputs, another seed others', async () => {
    const session = await createSession(classifier().bytes);
    const data = (seed: number) => Array.from(planFeeds(session, 4, mulberry32(seed)).feeds.x!.data as Float32Array);
    expect(data(42)).toEqual(data(42));
    expect(data(42)).not.toEqual(data(43));
  });

  it('latency: mulberry32 draws from [0, 1) with a mean near 0.5', () => {
    const r = mulberry32(123);
    const v = Array.from({ length: 10_000 }, r);
    expect(v.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(v.reduce((a, b) => a + b, 0) / v.length).toBeCloseTo(0.5, 1);
  });

  it('latency: percentiles interpolate like numpy', () => {
    // numpy.percentile([1, 2, 3, 4], [50, 90]) == [2.5, 3.7]
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 0.9)).toBeCloseTo(3.7, 12);
    expect(percentile([5], 0.9)).toBe(5);
    expect(summarize([4, 1, 3, 2])).toEqual({ p50: 2.5, p90: expect.closeTo(3.7, 12), mean: 2.5 });
  });

  it('latency: bad counts are an InputError', async () => {
    const session = await createSession(classifier().bytes);
    await expect(measureLatency(session, { runs: 0 })).rejects.toThrow(InputError);
  });

  it('latency: bool, int8, uint16 and float64 inputs get random values too (a bool input no longer stops timing)', async () => {
    const b = new GraphBuilder('types');
    const inputs = (['bool', 'int8', 'uint16', 'float64'] as const).map((t) => b.input(t, t, ['N', 3]));
    inputs.forEach((x, i) => b.output(b.node('Identity', [x])[0]!, (['bool', 'int8', 'uint16', 'float64'] as const)[i]!, ['N', 3]));
    const session = await createSession(b.build(), { label: 'types.onnx' });
    const plan = planFeeds(session, 2, mulberry32(5));
    expect(Object.values(plan.feeds).map((t) => [t.dtype, t.dims])).toEqual([['bool', [2, 3]], ['int8', [2, 3]], ['uint16', [2, 3]], ['float64', [2, 3]]]);
    const r = await measureLatency(session, { batch: 2, warmup: 0, runs: 1 });
    expect(r.batch1.p50).toBeGreaterThan(0);
    await session.close();
  });
});
