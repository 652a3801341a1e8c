/**
 * distill with several model inputs: the data set's arrays feed the inputs of their names and
 * a `--input-value` the rest, for the teacher, the student and validation alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNpz } from '../../src/data/npz.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { saveModel } from '../../src/io/save.ts';
import { collectDataset, runDataset } from '../../src/runtime/batches.ts';
import { createSession } from '../../src/runtime/ort.ts';
import { cli } from '../helpers/cli.ts';
import { randomFloats } from '../helpers/run-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-distill-multi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const N = 512;

/** logits [N,3] = relu([x | ctx] · W1) · W2 × gain: x [N,8], ctx [N,4], gain a float scalar input. */
function twoInputs(seed: number, noise = 0): Model {
  const b = new GraphBuilder('two-inputs');
  b.input('x', 'float32', ['N', 8]);
  b.input('ctx', 'float32', ['N', 4]);
  b.input('gain', 'float32', []);
  const perturb = (w: Float32Array, s: number) => w.map((v, i) => v + noise * randomFloats(w.length, s)[i]!);
  const [cat] = b.node('Concat', ['x', 'ctx'], { axis: 1 }, { name: 'cat' });
  const [h] = b.node('Gemm', [cat!, b.initializer('W1', perturb(randomFloats(12 * 16, seed), 90), [12, 16]), b.initializer('b1', randomFloats(16, seed + 1), [16])], {}, { name: 'fc1' });
  const [a] = b.node('Relu', [h!], {}, { name: 'relu' });
  const [m] = b.node('MatMul', [a!, b.initializer('W2', perturb(randomFloats(16 * 3, seed + 2), 91), [16, 3])], {}, { name: 'fc2' });
  b.node('Mul', [m!, 'gain'], {}, { name: 'scale', outputs: ['logits'] });
  b.output('logits', 'float32', ['N', 3]);
  return b.build();
}

async function logits(path: string, data: string): Promise<Float32Array> {
  const { openDataset } = await import('../../src/data/dataset.ts');
  const { floatBatches } = await import('../../src/runtime/batches.ts');
  const ds = await openDataset(data, { inputValues: { gain: { dtype: 'float32', shape: [], data: Float32Array.of(2) } } });
  const session = await createSession(path, { label: path });
  try {
    return (await collectDataset(runDataset(session, floatBatches(ds, 128)))).output;
  } finally {
    await session.close();
    await ds.close();
  }
}

const mse = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length;

describe('distill with several inputs', () => {
  it('cli: arrays feed the inputs of their names, --input-value a scalar input; the student moves toward its teacher', async () => {
    const teacher = join(dir, 'teacher.onnx');
    const student = join(dir, 'student.onnx');
    const out = join(dir, 'out.onnx');
    const data = join(dir, 'train.npz');
    await saveModel(twoInputs(1), teacher);
    await saveModel(twoInputs(1, 0.6), student);
    await writeNpz(data, { x: { dtype: 'float32', shape: [N, 8], data: randomFloats(N * 8, 7) }, ctx: { dtype: 'float32', shape: [N, 4], data: randomFloats(N * 4, 8) } });
    const r = await cli('distill', '--teacher', teacher, '--student', student, '--data', data, '--input-value', 'gain=2', '--alpha', '1', '--epochs', '3', '--lr', '0.01', '-o', out, '--no-latency', '--compressed-sizes', 'never');
    expect(r.code, r.err).toBe(0);
    const target = await logits(teacher, data);
    const before = mse(await logits(student, data), target);
    const after = mse(await logits(out, data), target);
    expect(after).toBeLessThan(0.5 * before);
  });

  it('cli: an input nothing feeds is a one-line error naming it and the flag, exit 2', async () => {
    const model = join(dir, 'm.onnx');
    const data = join(dir, 'x-only.npz');
    await saveModel(twoInputs(1), model);
    await writeNpz(data, { x: { dtype: 'float32', shape: [64, 8], data: randomFloats(64 * 8, 7) }, ctx: { dtype: 'float32', shape: [64, 4], data: randomFloats(64 * 4, 8) } });
    const r = await cli('distill', '--teacher', model, '--student', model, '--data', data, '--epochs', '1', '-o', join(dir, 'never.onnx'), '--no-latency');
    expect(r.code).toBe(2);
    const errors = r.err.split('\n').filter((l) => l.startsWith('shrinkray:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/input "gain" float32 \[\] has no data: .*--input-value gain=VALUE/);
  });
});
