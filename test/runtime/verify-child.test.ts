import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { compareInChildProcess } from '../../src/runtime/verify.ts';
import { errorOf } from '../helpers/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-verify-child-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function save(name: string, build: (b: GraphBuilder) => void): string {
  const b = new GraphBuilder(name, { opsets: { '': 17 } });
  build(b);
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, modelToBytes(b.build()));
  return path;
}

describe('verify in a child process', () => {
  // ONNX's own backend test model (Debian libonnx-testdata, dev machines only): random inputs
  // drive onnxruntime 1.30's STFT into a division by zero (SIGFPE) that would end this process.
  const stft = '/usr/share/libonnx-testdata/data/node/test_stft/model.onnx';
  it.skipIf(!existsSync(stft))('verify: a native crash of onnxruntime becomes a one-line InputError, and this process lives on', async () => {
    const err = await errorOf(compareInChildProcess(stft, stft));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(`onnxruntime crashed (SIGFPE) running ${stft} on random inputs`);
  });

  it('verify: the child returns the same comparison as in-process, Infinity included', async () => {
    const a = save('relu', (b) => b.output(b.node('Relu', [b.input('x', 'float32', ['N', 4])])[0]!, 'float32', ['N', 4]));
    const c = save('neg', (b) => b.output(b.node('Neg', [b.input('x', 'float32', ['N', 4])])[0]!, 'float32', ['N', 4]));
    expect(await compareInChildProcess(a, a)).toEqual([{ output: expect.any(String), maxAbsDiff: 0, maxAbs: expect.any(Number) }]);
    const [d] = await compareInChildProcess(a, c);
    expect(d!.maxAbsDiff).toBeGreaterThan(0);
  });
});
