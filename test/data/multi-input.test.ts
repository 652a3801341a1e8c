import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../src/data/dataset.ts';
import { encodeNpy, type NpArray } from '../../src/data/npy.ts';
import { writeNpz } from '../../src/data/npz.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { saveModel } from '../../src/io/save.ts';
import { collectDataset, floatBatches, runDataset } from '../../src/runtime/batches.ts';
import { stateInputs } from '../../src/runtime/data-feeds.ts';
import { createSession } from '../../src/runtime/ort.ts';
import { cli } from '../helpers/cli.ts';
import { randomFloats } from '../helpers/run-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-multi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const N = 64;
const x = randomFloats(N * 4, 3);
const W = randomFloats(12, 4);

/** y[N,3] = (x[N,4] · W) × n, with n an int64 scalar input: a negative n flips every argmax. */
function scaled(): Model {
  const b = new GraphBuilder('scaled');
  b.input('x', 'float32', ['N', 4]);
  b.input('n', 'int64', []);
  const [m] = b.node('MatMul', ['x', b.initializer('W', W, [4, 3])], {}, { name: 'mm' });
  const [f] = b.node('Cast', ['n'], { to: 1 }, { name: 'cast' });
  b.node('Mul', [m!, f!], {}, { name: 'scale', outputs: ['y'] });
  b.output('y', 'float32', ['N', 3]);
  return b.build();
}

/** One recurrent step: stateN = tanh(x·W + state·U), out = stateN·V; state is [1, N, 3] (its N bound by x). */
function recurrent(stateOut = 'stateN'): Model {
  const b = new GraphBuilder('rnn');
  b.input('x', 'float32', ['N', 4]);
  b.input('state', 'float32', [1, 'N', 3]);
  const [xw] = b.node('MatMul', ['x', b.initializer('W', W, [4, 3])], {}, { name: 'xw' });
  const [s] = b.node('Squeeze', ['state', b.initializer('axes', BigInt64Array.of(0n), [1])], {}, { name: 'squeeze' });
  const [su] = b.node('MatMul', [s!, b.initializer('U', randomFloats(9, 5), [3, 3])], {}, { name: 'su' });
  const [sum] = b.node('Add', [xw!, su!], {}, { name: 'add' });
  const [h] = b.node('Tanh', [sum!], {}, { name: 'tanh' });
  b.node('Unsqueeze', [h!, 'axes'], {}, { name: 'unsqueeze', outputs: [stateOut] });
  b.node('MatMul', [h!, b.initializer('V', randomFloats(6, 6), [3, 2])], {}, { name: 'head', outputs: ['out'] });
  b.output('out', 'float32', ['N', 2]);
  b.output(stateOut, 'float32', [1, 'N', 3]);
  return b.build();
}

/** argmax of (x·W) × n per sample: the labels only a correctly fed n reproduces. */
function labels(n: ArrayLike<number>): BigInt64Array {
  return BigInt64Array.from({ length: N }, (_, i) => {
    const row = [0, 1, 2].map((c) => [0, 1, 2, 3].reduce((s, k) => s + x[i * 4 + k]! * W[k * 3 + c]!, 0) * n[i]!);
    return BigInt(row.indexOf(Math.max(...row)));
  });
}

const f32 = (data: Float32Array, shape: number[]): NpArray => ({ dtype: 'float32', shape, data });
let scaledPath: string;
let rnnPath: string;

beforeAll(async () => {
  scaledPath = join(dir, 'scaled.onnx');
  rnnPath = join(dir, 'rnn.onnx');
  await saveModel(scaled(), scaledPath);
  await saveModel(recurrent(), rnnPath);
});

describe('multi-input data', () => {
  it('multi-input: state inputs are found by an output of the same base name, dtype and shape (never by model name)', () => {
    const spec = (name: string, shape: (number | string)[], dtype: 'float32' | 'int64' = 'float32') => ({ name, dtype, shape });
    // silero-vad v5 and v4 as onnxruntime describes them ('' = an unnamed free dim).
    const v5 = { inputs: [spec('input', ['', '']), spec('state', [2, '', 128]), spec('sr', [], 'int64')], outputs: [spec('output', ['', 1]), spec('stateN', ['', '', ''])] };
    expect([...stateInputs(v5)]).toEqual(['state']);
    const v4 = { inputs: [spec('input', ['b', 's']), spec('h', [2, 'b', 64]), spec('c', [2, 'b', 64])], outputs: [spec('output', ['b', 1]), spec('hn', [2, 'b', 64]), spec('cn', [2, 'b', 64])] };
    expect([...stateInputs(v4)]).toEqual(['h', 'c']);
    const lstm = { inputs: [spec('x', ['N', 4]), spec('h0', ['N', 8]), spec('past_c', ['N', 8])], outputs: [spec('y', ['N', 2]), spec('h_out', ['N', 8]), spec('present_c', ['N', 8])] };
    expect([...stateInputs(lstm)]).toEqual(['h0', 'past_c']);
    // Same base name but another shape, or another dtype: not state.
    expect([...stateInputs({ inputs: [spec('h', ['N', 8])], outputs: [spec('hn', ['N', 9])] })]).toEqual([]);
    expect([...stateInputs({ inputs: [spec('h', ['N', 8], 'int64')], outputs: [spec('hn', ['N', 8], 'int64')] })]).toEqual([]);
  });

  it('multi-input: an npz keyed by input names (n as a 0-d array) calibrates and evaluates a float + int64 scalar model', async () => {
    const data = join(dir, 'named.npz');
    await writeNpz(data, { x: f32(x, [N, 4]), n: { dtype: 'int64', shape: [], data: BigInt64Array.of(-2n) }, y: { dtype: 'int64', shape: [N], data: labels(Array(N).fill(-2)) } });
    const r = await cli('quantize', scaledPath, '-o', join(dir, 'q1.onnx'), '--calib', data, '--data', data, '--target', 'size', '--no-latency', '--json');
    expect(r.code, r.err).toBe(0);
    const [input, , output] = JSON.parse(r.out).stages;
    expect(input.accuracy).toEqual({ top1: 1, samples: N });
    expect(output.accuracy.top1).toBeGreaterThan(0.9);
  });

  it('multi-input: --input-value gives the scalar the data set lacks, and eval uses it', async () => {
    const data = join(dir, 'x-only.npz');
    await writeNpz(data, { x: f32(x, [N, 4]), y: { dtype: 'int64', shape: [N], data: labels(Array(N).fill(-3)) } });
    const r = await cli('eval', scaledPath, '--data', data, '--input-value', 'n=-3', '--no-latency', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).stages[0].accuracy).toEqual({ top1: 1, samples: N });
    // The same data without the value: one line naming the input and both ways to feed it.
    const missing = await cli('eval', scaledPath, '--data', data, '--no-latency');
    expect(missing.code).toBe(2);
    expect(missing.err).toBe('shrinkray: scaled.onnx: input "n" int64 [] has no data: name an array "n" in the data set, or give --input-value n=VALUE|file.npy\n'.replace('scaled.onnx', scaledPath));
    const twice = await cli('eval', scaledPath, '--data', join(dir, 'named.npz'), '--input-value', 'n=1', '--no-latency');
    expect(twice.err).toBe(`shrinkray: ${join(dir, 'named.npz')}: input 'n' is given twice, by the data set and by --input-value\n`);
    const fraction = await cli('eval', scaledPath, '--data', data, '--input-value', 'n=0.5', '--no-latency');
    expect(fraction.err).toBe(`shrinkray: ${scaledPath}: input 'n' is int64; the value given for it holds 0.5\n`);
    const garbage = await cli('eval', scaledPath, '--data', data, '--input-value', 'n=abc', '--no-latency');
    expect(garbage.err).toBe('shrinkray: --input-value n=abc: abc is neither a finite number nor a .npy file\n');
  });

  it('multi-input: a per-sample scalar (n of shape [N] for an input of shape []) runs one sample at a time', async () => {
    const n = Int32Array.from({ length: N }, (_, i) => (i % 3) - 1 || 2);
    const data = join(dir, 'per-sample.npz');
    await writeNpz(data, { x: f32(x, [N, 4]), n: { dtype: 'int64', shape: [N], data: BigInt64Array.from(n, BigInt) }, y: { dtype: 'int64', shape: [N], data: labels(n) } });
    const ds = await openDataset(data);
    const session = await createSession(scaledPath);
    try {
      const got = await collectDataset(runDataset(session, floatBatches(ds, 16, undefined, true)));
      expect(got.shape).toEqual([N, 3]);
      expect(got.labels?.length).toBe(N);
      const argmax = (i: number) => [0, 1, 2].reduce((b, c) => (got.output[i * 3 + c]! > got.output[i * 3 + b]! ? c : b), 0);
      expect(Array.from({ length: N }, (_, i) => argmax(i))).toEqual(got.labels);
    } finally {
      await session.close();
      await ds.close();
    }
  });

  it('multi-input: a recurrent state input (state → stateN) is fed zeros shaped by the data', async () => {
    const data = join(dir, 'rnn.npz');
    await writeNpz(data, { x: f32(x, [N, 4]) });
    const ds = await openDataset(data);
    const session = await createSession(rnnPath);
    try {
      const got = await collectDataset(runDataset(session, floatBatches(ds, 10), { output: 'out' }));
      const zeros = await session.run({ x: { dtype: 'float32', dims: [N, 4], data: x }, state: { dtype: 'float32', dims: [1, N, 3], data: new Float32Array(N * 3) } }, ['out']);
      expect(got.output).toEqual(zeros.out!.data);
    } finally {
      await session.close();
      await ds.close();
    }
    const r = await cli('quantize', rnnPath, '-o', join(dir, 'rnn-q.onnx'), '--calib', data, '--data', data, '--target', 'size', '--no-latency', '--json');
    expect(r.code, r.err).toBe(0);
  });

  it('multi-input: an input that only looks like state is not guessed: it needs data', async () => {
    const other = join(dir, 'rnn-other.onnx');
    await saveModel(recurrent('features'), other);
    const data = join(dir, 'rnn.npz');
    const r = await cli('eval', other, '--data', data, '--no-latency');
    expect(r.err).toBe(`shrinkray: ${other}: input "state" float32 [1,N,3] has no data: name an array "state" in the data set, or give --input-value state=VALUE|file.npy\n`);
    const zero = await cli('eval', other, '--data', data, '--input-value', 'state=0', '--no-latency', '--json');
    expect(zero.code, zero.err).toBe(0);
    const npy = join(dir, 'state.npy');
    writeFileSync(npy, encodeNpy(f32(new Float32Array(6), [2, 3])));
    const wrong = await cli('eval', other, '--data', data, '--input-value', `state=${npy}`, '--no-latency');
    expect(wrong.err).toMatch(/^shrinkray: .*: the value given for input 'state' has shape \[2,3\]; the input expects \[1,N,3\]\n$/);
  });
});
