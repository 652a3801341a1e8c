import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { AccuracyMeter } from '../../src/report/metrics.ts';
import { createSession } from '../../src/runtime/ort.ts';
import { collectDataset, runBatches, runDataset, type Batch } from '../../src/runtime/batches.ts';
import { fromHalfBits, toHalfBits } from '../../src/math/float16.ts';
import { classifier, FLOAT16, identity, mixedInputs, referenceClassifier } from './tiny-model.ts';
import type { Dim } from './tiny-model.ts';
import { errorOf } from '../helpers/errors.ts';

/** A test-local LCG, independent of the code under test. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function samples(n: number, features: number, seed = 7): Float32Array {
  const r = lcg(seed);
  return Float32Array.from({ length: n * features }, () => r() * 4 - 2);
}

function* batches(x: Float32Array, features: number, size: number, y?: number[]): Generator<Batch> {
  const n = x.length / features;
  for (let s = 0; s < n; s += size) {
    const e = Math.min(n, s + size);
    yield { x: x.subarray(s * features, e * features), shape: [e - s, features], y: y?.slice(s, e) };
  }
}

function argmaxRows(p: ArrayLike<number>, classes: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < p.length / classes; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (p[r * classes + c]! > p[r * classes + best]!) best = c;
    out.push(best);
  }
  return out;
}

describe('runtime/ort', () => {
  const n = 23;

  async function runAll(batch: Dim, batchSize: number) {
    const m = classifier({ batch });
    const x = samples(n, m.features);
    const ref = referenceClassifier(m, x);
    const session = await createSession(m.bytes, { threads: 1 });
    const got = await collectDataset(runDataset(session, batches(x, m.features, batchSize)));
    return { m, ref, got };
  }

  it('ort: runDataset matches a float64 reference and its accuracy', async () => {
    const m = classifier();
    const x = samples(n, m.features);
    const ref = referenceClassifier(m, x);
    // Labels: the reference's class for most samples, a wrong one for every fourth.
    const truth = argmaxRows(ref, m.classes);
    const labels = truth.map((c, i) => (i % 4 === 0 ? (c + 1) % m.classes : c));
    const expected = labels.filter((l, i) => l === truth[i]).length / n;

    const session = await createSession(m.bytes, { threads: 1, optimization: 'disabled' });
    const meter = new AccuracyMeter();
    const parts: number[] = [];
    for await (const out of runDataset(session, batches(x, m.features, 5, labels))) {
      expect(out.shape).toEqual([out.y!.length, m.classes]);
      meter.add(out.output, out.y!);
      parts.push(...out.output);
    }
    expect(parts).toHaveLength(ref.length);
    parts.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 5));
    expect(meter.result()).toEqual({ top1: expected, samples: n });
    expect(expected).toBeLessThan(1);
  });

  it('ort: a model whose batch dim is fixed to 1 runs samples one at a time', async () => {
    const { ref, got } = await runAll(1, 8);
    expect(got.shape).toEqual([n, 3]);
    Array.from(got.output).forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 5));
  });

  it('ort: a fixed batch of 4 pads the last chunk and drops its padding', async () => {
    const { ref, got } = await runAll(4, 10);
    expect(got.shape).toEqual([n, 3]);
    Array.from(got.output).forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 5));
  });

  it('ort: an unnamed dynamic batch dim takes whole batches', async () => {
    const { ref, got } = await runAll(null, 23);
    Array.from(got.output).forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 5));
  });

  it('ort: collectDataset concatenates outputs and labels', async () => {
    const m = classifier();
    const x = samples(7, m.features);
    const session = await createSession(m.bytes);
    const got = await collectDataset(runDataset(session, batches(x, m.features, 3, [0, 1, 2, 0, 1, 2, 0])));
    expect(got.shape).toEqual([7, 3]);
    expect(got.output).toHaveLength(21);
    expect(got.labels).toEqual([0, 1, 2, 0, 1, 2, 0]);
  });

  it('ort: float16 inputs and outputs are converted from and to float32', async () => {
    const session = await createSession(identity(['N', 4], FLOAT16));
    const x = Float32Array.from([0.1, -2, 65504, 1e-8, 3.14159, 0, 1, -0.5]);
    const out = await collectDataset(runDataset(session, [{ x, shape: [2, 4] }]));
    expect(Array.from(out.output)).toEqual(Array.from(x, (v) => fromHalfBits(toHalfBits(v))));
    expect(out.output[0]).not.toBe(x[0]); // 0.1 is not a half: proves the round trip happened
  });

  it('ort: garbage bytes are an InputError naming the label, on one line', async () => {
    const err = await errorOf(createSession(new Uint8Array([1, 2, 3, 4, 5]), { label: 'broken.onnx' }));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^onnxruntime rejected broken\.onnx: \S/);
    expect(err.message).not.toContain('\n');
  });

  it('ort: a missing file is an InputError naming the path', async () => {
    const err = await errorOf(createSession('/nonexistent/model.onnx'));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^onnxruntime rejected \/nonexistent\/model\.onnx: /);
  });

  it('ort: run turns a run-time failure into a one-line InputError', async () => {
    const session = await createSession(classifier({ batch: 1 }).bytes, { label: 'fixed.onnx' });
    const err = await errorOf(session.run({ x: { dtype: 'float32', data: new Float32Array(8), dims: [2, 4] } }));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^onnxruntime rejected fixed\.onnx: .*invalid dimensions/);
    expect(err.message).not.toContain('\n');
  });

  it('ort: a batch whose shape does not fit the input is refused, naming batch and input', async () => {
    const session = await createSession(classifier().bytes, { label: 'c.onnx' });
    const bad = [{ x: new Float32Array(10), shape: [2, 5] }];
    await expect(collectDataset(runDataset(session, bad))).rejects.toThrow(
      "c.onnx: data set x has shape [2,5] but model input 'x' expects [N,4]",
    );
    const short = [{ x: new Float32Array(7), shape: [2, 4] }];
    await expect(collectDataset(runDataset(session, short))).rejects.toThrow('has 7 values for shape [2, 4]');
    const labels = [{ x: new Float32Array(8), shape: [2, 4], y: [1] }];
    await expect(collectDataset(runDataset(session, labels))).rejects.toThrow('has 1 labels for 2 samples');
  });

  const all = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
    const out: T[] = [];
    for await (const v of it) out.push(v);
    return out;
  };

  it('ort: runBatches feeds each input of a model with several from the array of its name', async () => {
    const session = await createSession(mixedInputs(), { label: 'mixed.onnx' });
    const arrays = {
      f: { data: Float32Array.from({ length: 12 }, (_, i) => i / 2), dtype: 'float32' as const, shape: [3, 4] },
      i: { data: BigInt64Array.from({ length: 6 }, (_, i) => BigInt(i - 3)), dtype: 'int64' as const, shape: [3, 2] },
      u: { data: Uint8Array.from({ length: 9 }, (_, i) => 250 + i - 8), dtype: 'uint8' as const, shape: [3, 3] },
    };
    const batch = { x: arrays.f.data, shape: [3, 4], arrays };
    const [{ values }] = await all(runBatches(session, [batch], ['f_out', 'i_out', 'u_out']));
    expect([...values.get('f_out')!.data]).toEqual([...arrays.f.data]);
    expect([...values.get('i_out')!.data]).toEqual([-3, -2, -1, 0, 1, 2]);
    expect([...values.get('u_out')!.data]).toEqual([242, 243, 244, 245, 246, 247, 248, 249, 250]);
    const noIndex = { f: arrays.f, u: arrays.u };
    await expect(all(runBatches(session, [{ ...batch, arrays: noIndex }], ['f_out']))).rejects.toThrow(
      'mixed.onnx: input "i" int64 [batch,2] has no data: name an array "i" in the data set, or give --input-value i=VALUE|file.npy',
    );
    await expect(all(runBatches(session, [{ ...batch, arrays: { ...arrays, j: arrays.i } }], ['f_out']))).rejects.toThrow(
      'mixed.onnx: data set array j matches no input of mixed.onnx (inputs: f, i, u)',
    );
    const wrongType = { ...arrays, i: { ...arrays.i, data: Int32Array.from([0, 1, 2, 3, 4, 5]), dtype: 'int32' as const } };
    await expect(all(runBatches(session, [{ ...batch, arrays: wrongType }], ['f_out']))).rejects.toThrow(
      "mixed.onnx: data set i is int32 but model input 'i' expects int64",
    );
  });

  it('ort: an unknown output name is an InputError', async () => {
    const session = await createSession(classifier().bytes, { label: 'c.onnx' });
    await expect(collectDataset(runDataset(session, [], { output: 'logits' }))).rejects.toThrow('c.onnx has no output named "logits"');
  });
});
