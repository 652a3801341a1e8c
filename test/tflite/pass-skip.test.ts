import { describe, expect, it, vi } from 'vitest';
import { exportTflitePass } from '../../passes/export-tflite.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { validateOptions } from '../../src/pipeline/options.ts';
import { randomFloats } from '../helpers/run-model.ts';

vi.mock('../../src/runtime/tflite/interpreter.ts', async (original) => ({ ...(await original<object>()), interpreterAvailable: async () => false }));

describe('export-tflite: without the interpreter', () => {
  it('export-tflite: verify records that it was skipped and notes it, instead of failing', async () => {
    const b = new GraphBuilder('fc');
    const x = b.input('x', 'float32', ['N', 4]);
    const [y] = b.node('Gemm', [x, b.initializer('w', randomFloats(12, 1), [3, 4])], { transB: 1 });
    b.output(y, 'float32', ['N', 3]);
    const model = b.build();
    const notes: string[] = [];
    const ctx = { progress() {}, note: (m: string) => void notes.push(m) };
    const options = validateOptions('export-tflite', exportTflitePass.options, {});
    const artifact = await exportTflitePass.export(model, options, ctx);
    await exportTflitePass.verify(artifact, model, options, ctx);
    expect((artifact.details!.verification as { skipped: string }).skipped).toMatch(/not installed/);
    expect(notes.join()).toMatch(/skipped/);
  });
});
