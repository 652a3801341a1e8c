import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTflite } from '../../src/tflite/read.ts';
import { cli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-compress-tflite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('compress: an export pass ends the pipeline', () => {
  it('compress: --passes cleanup,export-tflite writes a verified .tflite and reports the comparison', async () => {
    const out = join(dir, 'lenet5.tflite');
    const r = await cli('compress', 'fixtures/lenet5.onnx', '--passes', 'cleanup,export-tflite', '-o', out, '--no-latency', '--compressed-sizes', 'never');
    expect(r.code, r.err).toBe(0);
    const model = readTflite(new Uint8Array(readFileSync(out)));
    expect(model.operators.map((o) => o.op)).toContain('CONV_2D');
    expect(r.out).toMatch(/tflite: output '\w+' vs onnxruntime: max abs error \d\.\d\de-\d+, cosine 1\.0000/);
  });

  it('compress: an export pass needs an output named with its extension, checked before any work', async () => {
    const out = join(dir, 'lenet5.onnx');
    const r = await cli('compress', 'fixtures/lenet5.onnx', '--passes', 'cleanup,export-tflite', '-o', out, '--no-latency');
    expect([r.code, r.err]).toEqual([2, `shrinkray: ${out}: the export-tflite pass writes a .tflite file; name the output so\n`]);
    expect(existsSync(out)).toBe(false);
  });
});
