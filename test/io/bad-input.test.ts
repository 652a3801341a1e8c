import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { loadModel } from '../../src/io/load.ts';
import { FLOAT, ONNX, externalTensor, f, handModel, model, rawTensor, unknownFields } from '../helpers/proto.ts';
import { errorOf } from '../helpers/errors.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'shrinkray-io-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads `bytes` from a file named `name`; it must fail with a one-line InputError naming the file. */
async function expectRefused(name: string, bytes: Uint8Array, why?: RegExp): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const err = await errorOf(loadModel(path));
  expect(err, `${name}: ${err.message}`).toBeInstanceOf(InputError);
  expect((err as InputError).exitCode).toBe(2);
  expect(err.message.startsWith(`${path}: `)).toBe(true);
  expect(err.message).not.toMatch(/[\n\r]/);
  if (why) expect(err.message).toMatch(why);
  return err.message;
}

/** A test-local LCG, independent of the code under test. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function tinyPng(): Uint8Array {
  const png = new PNG({ width: 4, height: 4 });
  png.data.fill(200);
  return new Uint8Array(PNG.sync.write(png));
}

describe('io: bad input', () => {
  it('io: an empty file is refused with an InputError naming it', async () => {
    await expectRefused('empty.onnx', new Uint8Array(0), /empty/);
  });

  it('io: a missing file and a directory are refused with an InputError naming them', async () => {
    const missing = join(dir, 'nope.onnx');
    const err = await errorOf(loadModel(missing));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(`${missing}: no such file`);
    const err2 = await errorOf(loadModel(dir));
    expect(err2).toBeInstanceOf(InputError);
    expect(err2.message).toBe(`${dir}: not a file`);
  });

  it('io: a model cut in the middle is refused', async () => {
    const whole = new Uint8Array(readFileSync(join(FIXTURES, 'python-model.onnx')));
    await expectRefused('truncated.onnx', whole.subarray(0, Math.floor(whole.length / 2)), /not a valid ONNX model \(truncated/);
  });

  it('io: every truncation of a model either loads or fails with a one-line InputError, never a raw error', async () => {
    const whole = handModel({ node: unknownFields(1), tensor: unknownFields(2) });
    const path = join(dir, 'cut.onnx');
    let refused = 0;
    for (let n = 1; n < whole.length; n++) {
      writeFileSync(path, whole.subarray(0, n));
      try {
        await loadModel(path);
      } catch (err) {
        expect(err, `cut at ${n}: ${(err as Error).message}`).toBeInstanceOf(InputError);
        expect((err as Error).message).not.toMatch(/[\n\r]/);
        refused++;
      }
    }
    // Only cuts at the boundary of a top-level field can parse (protobuf cannot tell); most must not.
    expect(refused).toBeGreaterThan(whole.length * 0.9);
  });

  it('io: random garbage bytes are refused with a one-line InputError (50 seeds)', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = lcg(seed);
      const bytes = Uint8Array.from({ length: 16 + Math.floor(r() * 2000) }, () => Math.floor(r() * 256));
      await expectRefused(`garbage-${seed}.onnx`, bytes, /not a valid ONNX model/);
    }
  });

  it('io: flipped bytes inside a valid model fail, if at all, with a one-line InputError', async () => {
    const whole = new Uint8Array(readFileSync(join(FIXTURES, 'python-model.onnx')));
    const r = lcg(99);
    for (let i = 0; i < 300; i++) {
      const bytes = whole.slice();
      for (let k = 0; k < 3; k++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
      try {
        await loadModel(bytes, { label: 'flipped.onnx' });
      } catch (err) {
        expect(err, `flip ${i}: ${(err as Error).message}`).toBeInstanceOf(InputError);
        expect((err as Error).message).not.toMatch(/[\n\r]/);
        expect((err as Error).message.startsWith('flipped.onnx: ')).toBe(true);
      }
    }
  });

  it('io: a PNG renamed .onnx is refused with an InputError naming the file', async () => {
    const message = await expectRefused('picture.onnx', tinyPng(), /not a valid ONNX model/);
    expect(message).not.toMatch(/RangeError/);
  });

  it('io: other common non-ONNX files (JSON, text, zip header, gzip header) are refused', async () => {
    await expectRefused('config.onnx', new TextEncoder().encode('{"model": "resnet", "layers": [1, 2, 3]}\n'));
    await expectRefused('readme.onnx', new TextEncoder().encode('This is not a model.\nSecond line.\n'));
    await expectRefused('archive.onnx', Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0, 0x21, 0x43, 0x65, 0x87, 0, 0, 0, 0));
    await expectRefused('weights.onnx', Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x4b, 0x4c, 0x4a, 6, 0));
  });

  it('io: bytes given in memory are refused with the label in the message', async () => {
    const err = await errorOf(loadModel(tinyPng(), { label: 'upload.onnx' }));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^upload\.onnx: not a valid ONNX model/);
  });
});

describe('io: bad input messages stay on one line', () => {
  it('io: names with newlines or control characters (from a damaged model) are escaped in the message', async () => {
    const name = 'w\nINJECTED LINE\r\u001b[31m';
    const broken = model([f.message(ONNX.graph.initializer, rawTensor(name, FLOAT, [4], new Uint8Array(3)))]);
    const message = await expectRefused('control-chars.onnx', broken, /has 3 bytes of raw_data/);
    expect(message).toContain("tensor 'w\\nINJECTED LINE\\r\\x1b[31m'");
    const external = model([f.message(ONNX.graph.initializer, externalTensor(name, FLOAT, [1], 'missing\n.bin', 0, 4))]);
    const message2 = await expectRefused('control-chars-ext.onnx', external, /file not found/);
    expect(message2).toContain("tensor 'w\\nINJECTED LINE\\r\\x1b[31m'");
  });
});
