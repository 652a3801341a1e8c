import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { checkRuns } from '../../src/runtime/check.ts';
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

/**
 * A frame length computed at run time as k − k = 0: onnxruntime 1.30's STFT divides by it and
 * dies of SIGFPE on any input (a constant 0 would be caught by its shape inference).
 */
function stftOfFrameLengthZero(): Uint8Array {
  const b = new GraphBuilder('stft0', { opsets: { '': 17 } });
  const k = b.input('k', 'int64', []);
  const [length] = b.node('Sub', [k, k]);
  const step = b.initializer('step', new BigInt64Array([8n]), []);
  const [y] = b.node('STFT', [b.input('x', 'float32', [1, 64, 1]), step, '', length!]);
  b.output(y!, 'float32', [1, 'F', 'G', 2]);
  return modelToBytes(b.build());
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

  it("a pass's run check: a native crash leaves loading as the check and a note, and this process lives on", async () => {
    const notes: string[] = [];
    await checkRuns(stftOfFrameLengthZero(), 'the model', { note: (m) => notes.push(m) });
    expect(notes).toEqual(['the model was loaded but not run: onnxruntime crashed (SIGFPE) on random inputs']);
    // The shared child is started again for the next check.
    const relu = new GraphBuilder('relu', { opsets: { '': 17 } });
    relu.output(relu.node('Relu', [relu.input('x', 'float32', [1, 4])])[0]!, 'float32', [1, 4]);
    await expect(checkRuns(relu.build(), 'the relu model', { note: (m) => notes.push(m) })).resolves.toBeUndefined();
    expect(notes).toHaveLength(1);
  });

  it('verify in the shared child: models in memory, and a crash is an InputError', async () => {
    const err = await errorOf(compareInChildProcess(stftOfFrameLengthZero(), stftOfFrameLengthZero()));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('onnxruntime crashed (SIGFPE) running the model and the model on random inputs');
  });
});
