import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-tflite-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  let out = '';
  let err = '';
  return { io: { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) } }, out: () => out, err: () => err };
}

describe('export-tflite: CLI', () => {
  it('export-tflite: `shrinkray export` writes a verified .tflite', async () => {
    const c = capture();
    const out = join(dir, 'mlp.tflite');
    expect(await main(['export', 'fixtures/mlp.onnx', '-o', out, '--json'], c.io)).toBe(0);
    const report = JSON.parse(c.out());
    expect(report.verification.outputs[0].maxAbsError).toBeLessThan(1e-4);
    expect(readFileSync(out).subarray(4, 8).toString()).toBe('TFL3');
  });

  it('export-tflite: a wrong extension is a usage error (exit 2) and writes nothing', async () => {
    const c = capture();
    const out = join(dir, 'mlp.onnx');
    expect(await main(['export', 'fixtures/mlp.onnx', '-o', out], c.io)).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});

describe('export-tflite: inspect reads .tflite', () => {
  it('export-tflite: inspect lists operators with versions and per-tensor quantization', async () => {
    const out = join(dir, 'dscnn.tflite');
    expect(await main(['export', 'fixtures/dscnn.onnx', '-o', out, '--no-verify'], capture().io)).toBe(0);
    const c = capture();
    expect(await main(['inspect', out, '--json'], c.io)).toBe(0);
    const s = JSON.parse(c.out());
    expect(s.format).toBe('tflite');
    expect(s.inputs[0].shape).toEqual([1, 28, 28, 1]);
    expect(s.operators.find((o: { op: string }) => o.op === 'DEPTHWISE_CONV_2D').count).toBe(3);
    expect(s.constantBytes).toBeGreaterThan(20_000);
  });
});
