import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { ModelFiles, withModelFile } from '../../src/io/save.ts';
import { createSession } from '../../src/runtime/ort.ts';
import { randomFloats } from '../helpers/run-model.ts';

function tiny() {
  const b = new GraphBuilder('tiny');
  b.input('x', 'float32', ['N', 4]);
  b.node('MatMul', ['x', b.initializer('w', randomFloats(16, 1), [4, 4])], {}, { outputs: ['y'] });
  b.output('y', 'float32', ['N', 4]);
  return b.build();
}

describe('model files for runtimes', () => {
  it('model files: withModelFile gives a path onnxruntime loads, removed afterwards (also when fn throws)', async () => {
    let seen = '';
    const outputs = await withModelFile(tiny(), async (path) => {
      seen = path;
      const s = await createSession(path);
      try {
        return s.outputs.map((o) => o.name);
      } finally {
        await s.close();
      }
    });
    expect(outputs).toEqual(['y']);
    expect(existsSync(seen)).toBe(false);
    await expect(withModelFile(tiny(), async (path) => ((seen = path), Promise.reject(new Error('boom'))))).rejects.toThrow('boom');
    expect(existsSync(seen)).toBe(false);
  });

  it('model files: ModelFiles writes each model once and close removes every file', async () => {
    const files = new ModelFiles();
    const [a, b] = [tiny(), tiny()];
    const pa = await files.path(a);
    expect(await files.path(a)).toBe(pa);
    const pb = await files.path(b);
    expect(pb).not.toBe(pa);
    expect([existsSync(pa), existsSync(pb)]).toEqual([true, true]);
    files.close();
    expect([existsSync(pa), existsSync(pb)]).toEqual([false, false]);
  });
});
