import { describe, expect, it } from 'vitest';
import { CheckError } from '../../src/errors.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { randomFloats, runModel } from '../helpers/run-model.ts';
import { calibrationWithOutlier, memoryDataset } from './graphs.ts';

/** x[16] → MatMul → Relu → MatMul → 10 logits. Feature 3 of x is unused (zero weights). */
function classifier(w2: Float32Array): Model {
  const b = new GraphBuilder('clf');
  b.input('x', 'float32', ['N', 16]);
  const w1 = randomFloats(16 * 32, 1).fill(0, 3 * 32, 4 * 32);
  const [h] = b.node('MatMul', ['x', b.initializer('w1', w1, [16, 32])], {}, { name: 'mm1' });
  const [r] = b.node('Relu', [h], {}, { name: 'relu' });
  b.node('MatMul', [r, b.initializer('w2', w2, [32, 10])], {}, { name: 'mm2', outputs: ['y'] });
  b.output('y', 'float32', ['N', 10]);
  return b.build();
}

/** Eval samples labelled with the float model's own argmax, keeping only clear decisions. */
async function labelled(model: Model, n: number, minMargin: number) {
  const x = randomFloats(n * 16, 5);
  const y = (await runModel(model, { x: { data: x, dims: [n, 16] } })).y!;
  const keep: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(y.subarray(i * 10, i * 10 + 10));
    const sorted = [...row].sort((a, b) => b - a);
    if (sorted[0]! - sorted[1]! < minMargin) continue;
    keep.push(i);
    labels.push(row.indexOf(sorted[0]!));
  }
  const xs = new Float32Array(keep.length * 16);
  keep.forEach((i, j) => xs.set(x.subarray(i * 16, i * 16 + 16), j * 16));
  return memoryDataset(xs, [keep.length, 16], labels);
}

describe('quantize: accuracy-driven fallback', () => {
  it('quantize: a tight budget returns the most sensitive layer to float and meets the budget', async () => {
    const model = classifier(randomFloats(320, 2));
    const evalSet = await labelled(model, 600, 0.3);
    const notes: string[] = [];
    const result = await quantizeModel(
      model,
      { calibration: 'minmax', maxAccuracyDrop: 1, target: 'size' },
      { calibration: calibrationWithOutlier(), evaluate: accuracyEvaluator(evalSet), note: (m) => notes.push(m) },
    );
    const fb = result.fallback!;
    expect(fb.floatAccuracy).toBe(1);
    expect(fb.quantizedAccuracy).toBeLessThan(0.9); // x's range is wrecked by the outlier
    expect(fb.sensitivity.map((s) => s.node)).toEqual(['mm1', 'mm2']);
    expect(fb.sensitivity.map((s) => s.method)).toEqual(['alone', 'alone']); // two layers: each ranked alone
    expect(fb.sensitivity[0]!.sqnrDb).toBeLessThan(fb.sensitivity[1]!.sqnrDb);
    expect(fb.keptFloat).toEqual(['mm1']);
    expect(fb.finalDrop).toBeLessThanOrEqual(1);
    expect(result.quantized).toContain('mm2');
    expect(result.keptFloat.find((k) => k.node === 'mm1')!.reason).toMatch(/returned to float by fallback: sensitivity rank 1/);
    expect(notes.some((n) => /fallback: kept mm1 \(MatMul\) in float/.test(n))).toBe(true);
    // The committed model is the one that met the budget.
    expect(await accuracyEvaluator(evalSet)(modelToBytes(model))).toBeCloseTo(fb.finalAccuracy, 10);
    expect(model.graph.initializers.get('w1')!.dtype).toBe('float32');
  });

  it('quantize: a budget only the float model meets is a failed check (exit 1) and leaves the model float', async () => {
    // Classes 0 and 1 differ by a hair: any quantization noise flips some decisions.
    const w2 = randomFloats(320, 2).map((v) => v * 0.01);
    const col = randomFloats(32, 3);
    for (let k = 0; k < 32; k++) {
      w2[k * 10] = col[k]!;
      w2[k * 10 + 1] = col[k]! * (1 + 1e-4);
    }
    const model = classifier(w2);
    const evalSet = await labelled(model, 600, 0);
    const before = modelToBytes(model);
    const notes: string[] = [];
    const err = await quantizeModel(model, { maxAccuracyDrop: 0, target: 'size' }, { calibration: memoryDataset(randomFloats(128 * 16, 9), [128, 16]), evaluate: accuracyEvaluator(evalSet), note: (m) => notes.push(m) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckError);
    expect((err as CheckError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/accuracy budget 0 pt cannot be met: with 1 of 2 layers in float/);
    expect(notes.some((n) => n.startsWith('fallback: accuracy budget 0 pt cannot be met') && n.includes('Sensitivity'))).toBe(true);
    expect(modelToBytes(model)).toEqual(before);
  });

  it('quantize: maxAccuracyDrop without an evaluation set is an input error', async () => {
    await expect(quantizeModel(classifier(randomFloats(320, 2)), { maxAccuracyDrop: 1 }, { calibration: calibrationWithOutlier() })).rejects.toThrow(/needs an evaluation data set/);
  });
});
