/**
 * The cases of issue 14 that exited 3 (internal error) or 0 (although the ONNX checker
 * refuses them): each must now exit 2 from `inspect` and from `compress`, with one line
 * naming the tensor, node or field at fault, and leave nothing in the output folder.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { ODD_CASES, boolInputModel, validModel } from './odd-models.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { modelToBytes } from '../../src/io/save.ts';

const root = mkdtempSync(join(tmpdir(), 'shrinkray-odd-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Writes `bytes` as in/model.onnx and gives the paths of an empty output folder. */
function setUp(bytes: Uint8Array) {
  const dir = join(root, `case-${n++}`);
  mkdirSync(join(dir, 'in'), { recursive: true });
  mkdirSync(join(dir, 'out'));
  const input = join(dir, 'in', 'model.onnx');
  writeFileSync(input, bytes);
  return { input, outDir: join(dir, 'out'), output: join(dir, 'out', 'model.onnx') };
}

const compress = (input: string, output: string) => cli('compress', input, '-o', output, '--passes', 'cleanup', '--no-latency', '--quiet');

describe('odd models: exit 2, one line naming the culprit, no output', () => {
  for (const c of ODD_CASES) {
    it(`odd models: ${c.name}`, async () => {
      const { input, outDir, output } = setUp(c.bytes());
      for (const r of [await cli('inspect', input), await compress(input, output)]) {
        expect(r.code, r.err).toBe(2);
        expect(r.err).toMatch(/^shrinkray: [^\n]*\n$/);
        expect(r.err).toMatch(c.names);
        expect(r.err).not.toMatch(/internal error|\n\s+at /);
      }
      expect(readdirSync(outDir)).toEqual([]);
    });
  }

  it('odd models: the valid model they all derive from compresses (exit 0)', async () => {
    const { input, output } = setUp(validModel());
    const r = await compress(input, output);
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(join(output, '..'))).toEqual(['model.onnx']);
  });

  it('odd models: a bool input compresses with --no-latency and is verified on random bool values', async () => {
    const { input, output } = setUp(boolInputModel());
    const r = await cli('compress', input, '-o', output, '--passes', 'cleanup', '--no-latency', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).notes.join('\n')).not.toMatch(/could not verify/);
  });

  it('verify: an output that is NaN in both models passes (NaN equals NaN)', async () => {
    const b = new GraphBuilder('log');
    const x = b.input('x', 'float32', ['N', 4]);
    const [l] = b.node('Log', [x]); // random inputs in [-1, 1): NaN for the negatives, in both models
    const [y] = b.node('Identity', [l]);
    b.output(y, 'float32', ['N', 4]);
    const { input, output } = setUp(modelToBytes(b.build()));
    const r = await cli('compress', input, '-o', output, '--passes', 'cleanup', '--no-latency', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).notes.join('\n')).not.toMatch(/could not verify/);
  });

  it('verify: an input that sets a shape cannot be verified on random values, and the note says which', async () => {
    const b = new GraphBuilder('reshape');
    const x = b.input('x', 'float32', ['N', 4]);
    const shape = b.input('shape', 'int64', [2]);
    const [r0] = b.node('Reshape', [x, shape], {}, { name: 'reshape' });
    const [y] = b.node('Identity', [r0]);
    b.output(y, 'float32', ['N', 4]);
    const { input, output } = setUp(modelToBytes(b.build()));
    const r = await cli('compress', input, '-o', output, '--passes', 'cleanup', '--no-latency', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).notes.join('\n')).toMatch(/could not verify the output on random inputs: input 'shape' sets a shape or axes of node 'reshape' \(Reshape\)/);
  });

  it('odd models: a model cut at 5 000 bytes names where the field wanted to reach and where the file ends', async () => {
    const { input } = setUp(readFileSync(join(import.meta.dirname, '../../fixtures/lenet5.onnx')).subarray(0, 5000));
    const r = await cli('inspect', input);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/truncated data: \d+ bytes needed at byte \d+ but the file ends at byte 5000\)$/m);
  });
});
