import { describe, expect, it } from 'vitest';
import { exportTflitePass } from '../../passes/export-tflite.ts';
import { CheckError } from '../../src/errors.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { validateOptions } from '../../src/pipeline/options.ts';
import { randomFloats } from '../helpers/run-model.ts';

function fc(seed: number) {
  const b = new GraphBuilder('fc');
  const x = b.input('x', 'float32', ['N', 4]);
  const [y] = b.node('Gemm', [x, b.initializer('w', randomFloats(12, seed), [3, 4])], { transB: 1 });
  b.output(y, 'float32', ['N', 3]);
  return b.build();
}

const ctx = { progress() {}, note() {} };

describe('export-tflite: pass', () => {
  it('export-tflite: export leaves the model unchanged and verify records the comparison', async () => {
    const model = fc(1);
    const before = modelToBytes(model);
    const options = validateOptions('export-tflite', exportTflitePass.options, {});
    const artifact = await exportTflitePass.export(model, options, ctx);
    expect(modelToBytes(model)).toEqual(before);
    expect(artifact.extension).toBe('.tflite');
    await exportTflitePass.verify(artifact, model, options, ctx);
    const v = artifact.details!.verification as { outputs: { maxAbsError: number; cosine: number }[] };
    expect(v.outputs[0]!.maxAbsError).toBeLessThan(1e-5);
  });

  it('export-tflite: verify throws CheckError when the file disagrees with the model', async () => {
    const options = validateOptions('export-tflite', exportTflitePass.options, {});
    const artifact = await exportTflitePass.export(fc(1), options, ctx);
    await expect(exportTflitePass.verify(artifact, fc(2), options, ctx)).rejects.toBeInstanceOf(CheckError);
  });
});
