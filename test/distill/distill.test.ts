/**
 * distill: training on the ONNX graph against an onnxruntime teacher — unlabelled data,
 * masks, int8 QDQ students, the pipeline's input model as default teacher, the CLI command.
 * Short runs (a few hundred samples): they check behaviour, not final accuracy (that is
 * test/bench/distill.ts).
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { passes } from '../../passes/index.ts';
import { batchOf, loadSamples } from '../../src/distill/data.ts';
import { Teacher } from '../../src/distill/teacher.ts';
import { encodeNpy } from '../../src/data/npy.ts';
import { InputError } from '../../src/errors.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes, saveModel } from '../../src/io/save.ts';
import type { Model } from '../../src/ir/model.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { cli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-distill-'));
const unlabelled = join(dir, 'x.npy');
let probe: { x: Float32Array; dims: number[] };

beforeAll(async () => {
  const train = await loadSamples('fixtures/data/mnist-train.npz', 512);
  writeFileSync(unlabelled, encodeNpy({ dtype: 'float32', shape: [512, 1, 28, 28], data: train.x }));
  const test = await loadSamples('fixtures/data/mnist-test.npz', 400);
  probe = { x: test.x, dims: [400, 1, 28, 28] };
});

async function top1(model: Model | string): Promise<Int32Array> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(modelToBytes(model));
  const out = (await session.run({ input: new ort.Tensor('float32', probe.x, probe.dims) })).logits!.data as Float32Array;
  await session.release();
  return Int32Array.from({ length: 400 }, (_, r) => {
    const row = Array.from(out.subarray(r * 10, r * 10 + 10));
    return row.indexOf(Math.max(...row));
  });
}

const agreement = (a: Int32Array, b: Int32Array) => a.reduce((n, v, i) => n + (v === b[i] ? 1 : 0), 0) / a.length;

async function pruned(options: Record<string, unknown>): Promise<Model> {
  const model = await loadModel('fixtures/lenet5.onnx');
  await runPipeline(model, [{ pass: passes.prune!, options: { verify: false, ...options } }]);
  return model;
}

const SHORT = { teacher: 'fixtures/lenet5.onnx', train: unlabelled, epochs: 1, batchSize: 32, lr: 0.003 };

describe('distill', () => {
  it('distill: unlabelled data lifts a 50 %-channel-pruned lenet5 toward its teacher; graph kept; same seed, same bytes', async () => {
    const teacher = await top1('fixtures/lenet5.onnx');
    const runs: Uint8Array[] = [];
    let before = 0;
    let after = 0;
    for (let i = 0; i < 2; i++) {
      const model = await pruned({ channels: 0.5 });
      const shape = model.graph.nodes.map((n) => `${n.name}:${n.opType}`).join(',');
      const dtypes = [...model.graph.initializers.values()].map((t) => `${t.name}:${t.dtype}:${t.dims}`).join(',');
      before = agreement(await top1(model), teacher);
      const notes: string[] = [];
      await runPipeline(model, [{ pass: passes.distill!, options: { ...SHORT, samples: 384, alpha: 0.5, seed: 7 } }], { onNote: (m) => notes.push(m) });
      expect(notes.some((n) => n.includes('no labels: soft targets only'))).toBe(true);
      expect(model.graph.nodes.map((n) => `${n.name}:${n.opType}`).join(',')).toBe(shape);
      expect([...model.graph.initializers.values()].map((t) => `${t.name}:${t.dtype}:${t.dims}`).join(',')).toBe(dtypes);
      after = agreement(await top1(model), teacher);
      runs.push(modelToBytes(model));
    }
    expect(before).toBeLessThan(0.3);
    expect(after).toBeGreaterThan(before + 0.3);
    expect(Buffer.compare(Buffer.from(runs[0]!), Buffer.from(runs[1]!))).toBe(0);
  });

  it('distill: pruned zeros stay exactly zero and a 2:4 pattern holds', async () => {
    const model = await pruned({ pattern: '2:4' });
    const zerosBefore = new Map([...model.graph.initializers].map(([k, t]) => [k, t.toFloat32().map((v) => (v === 0 ? 1 : 0))]));
    const valuesBefore = new Map([...model.graph.initializers].map(([k, t]) => [k, t.toFloat32().slice()]));
    // SGD with momentum and a validation split this time (its score is reported, its best epoch kept).
    const result = await runPipeline(model, [{ pass: passes.distill!, options: { ...SHORT, samples: 320, valSplit: 0.2, optimizer: 'sgd', lr: 0.02 } }]);
    expect(result.stages[0]!.changes.keptEpoch).toBe(1);
    expect(result.stages[0]!.changes.valPercent).toBeGreaterThan(0);
    let moved = 0;
    for (const [name, t] of model.graph.initializers) {
      const v = t.toFloat32();
      const z = zerosBefore.get(name)!;
      for (let i = 0; i < v.length; i++) {
        if (z[i]) expect(v[i], `${name}[${i}]`).toBe(0);
        else if (v[i] !== valuesBefore.get(name)![i]) moved++;
      }
    }
    expect(moved).toBeGreaterThan(1000);
    const fc1 = model.graph.initializers.get(model.graph.nodes.find((n) => n.name === 'fc1')!.inputs[1]!)!.toFloat32();
    for (let i = 0; i < fc1.length; i += 4) expect(fc1.subarray(i, i + 4).filter((v) => v !== 0).length).toBeLessThanOrEqual(2);
  });

  it('distill: recalibrateBn sets BatchNormalization running statistics to those of the training data', async () => {
    const model = await pruned({ channels: 0.5 });
    // lr 0: the weights stay put, so only the statistics move; 256 samples make one batch.
    await runPipeline(model, [{ pass: passes.distill!, options: { ...SHORT, samples: 256, lr: 0, shift: 0, recalibrateBn: true } }]);
    const train = await loadSamples(unlabelled, 256);
    const probe = await Teacher.open(model, ['conv1_out']);
    const { data, dims } = (await probe.run(batchOf(train))).features.conv1_out!;
    await probe.close();
    const [n, c, h, w] = dims as [number, number, number, number];
    const count = n * h * w;
    const mean = model.graph.initializers.get('bn1.running_mean')!.toFloat32();
    const variance = model.graph.initializers.get('bn1.running_var')!.toFloat32();
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      let s2 = 0;
      for (let b = 0; b < n; b++) for (const v of data.subarray((b * c + ch) * h * w, (b * c + ch + 1) * h * w)) [s, s2] = [s + v, s2 + v * v];
      const mu = s / count;
      expect(mean[ch]).toBeCloseTo(mu, 4);
      expect(variance[ch]! / ((s2 / count - mu * mu) * (count / (count - 1)))).toBeCloseTo(1, 3);
    }
  });

  it('distill: fractional counts (epochs, batch size) are refused before anything runs', async () => {
    const model = await pruned({ channels: 0.5 });
    for (const bad of [{ epochs: 1.5 }, { batchSize: 16.5 }]) {
      await expect(runPipeline(model, [{ pass: passes.distill!, options: { ...SHORT, ...bad } }])).rejects.toThrow(/whole number/);
    }
  });

  it('distill: an int8 QDQ student trains with quantAware (weights stay int8) and is refused without it', async () => {
    const model = await loadModel('fixtures/lenet5.onnx');
    await runPipeline(model, [{ pass: passes.quantize!, options: { calib: 'fixtures/data/mnist-calib.npz', calibSamples: 64, target: 'size' } }]);
    const int8 = [...model.graph.initializers.values()].filter((t) => t.dtype === 'int8' && t.size > 100);
    expect(int8.length).toBeGreaterThan(0);
    const before = int8.map((t) => Int8Array.from(t.typed() as Int8Array));
    await expect(runPipeline(model, [{ pass: passes.distill!, options: { ...SHORT, samples: 128 } }])).rejects.toThrow(InputError);
    await runPipeline(model, [{ pass: passes.distill!, options: { ...SHORT, samples: 256, lr: 0.001, quantAware: true } }]);
    // The pipeline adopts the pass's copy: read the weights back by name.
    const after = int8.map((t) => model.graph.initializers.get(t.name)!);
    const changed = after.reduce((n, t, k) => n + (t.typed() as Int8Array).reduce((c, v, i) => c + (v !== before[k]![i] ? 1 : 0), 0), 0);
    expect(after.every((t) => t.dtype === 'int8')).toBe(true);
    expect(changed).toBeGreaterThan(0);
    expect(agreement(await top1(model), await top1('fixtures/lenet5.onnx'))).toBeGreaterThan(0.9);
  });

  it('cli: shrinkray distill --teacher --student --data -o writes the student; no --data is exit 2', async () => {
    const student = join(dir, 'student.onnx');
    await saveModel(await pruned({ channels: 0.5 }), student);
    const out = join(dir, 'out.onnx');
    const args = ['distill', '--teacher', 'fixtures/lenet5.onnx', '--student', student, '-o', out, '--epochs', '1', '--samples', '128', '--batch-size', '32', '--no-latency', '--quiet'];
    const ok = await cli(...args, '--data', unlabelled);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    const missing = await cli(...args);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--data');
  });

  it('cli: compress --passes prune,distill,quantize is not held to the default 20 dB floor (the student is not its teacher), and says so', async () => {
    const out = join(dir, 'pipeline.onnx');
    const r = await cli('compress', 'fixtures/lenet5.onnx', '-o', out, '--passes', 'prune,distill,quantize', '--set', 'prune.channels=0.5', '--set', `distill.train=${unlabelled}`, '--set', 'distill.epochs=1', '--set', 'distill.samples=128', '--set', 'distill.batchSize=32', '--set', 'quantize.calib=fixtures/data/mnist-calib.npz', '--set', 'quantize.calibSamples=64', '--set', 'quantize.target=size', '--no-latency', '--json', '--compressed-sizes', 'never');
    expect(r.code, r.err).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(JSON.parse(r.out).notes).toContain('quality gate: SQNR reported, not held to the default 20 dB floor in a run with distillation (--min-sqnr gates it)');
  });
});

