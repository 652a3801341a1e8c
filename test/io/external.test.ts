import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnx from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { loadModel } from '../../src/io/load.ts';
import { saveModel } from '../../src/io/save.ts';
import { FLOAT, ONNX, concat, externalTensor, f, model, node, valueInfo } from '../helpers/proto.ts';
import { errorOf } from '../helpers/errors.ts';

const P = onnx.onnx;
const FIXTURES = join(import.meta.dirname, 'fixtures');
const root = mkdtempSync(join(tmpdir(), 'shrinkray-io-ext-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const K = 64; // W is [K, N]: 8 KB, above the default 1 KB external threshold
const N = 32;
const W = Float32Array.from({ length: K * N }, (_, i) => Math.sin(i * 0.37) * 0.5);
const B = Float32Array.from({ length: N }, (_, i) => (i % 5) - 2);
const X = Float32Array.from({ length: 2 * K }, (_, i) => Math.cos(i * 0.11));

let dirs = 0;
function freshDir(): string {
  const d = join(root, `case-${dirs++}`);
  mkdirSync(d);
  return d;
}

/**
 * y = x · W + B, with W and B in `weights.bin` (B first at offset 0, W at offset 4096 after
 * a gap), written by hand; `location`/`offset`/`length` of W can be overridden.
 */
function writeExternalModel(d: string, w: { location?: string; offset?: number; length?: number } = {}): string {
  const data = new Uint8Array(4096 + W.byteLength);
  data.set(new Uint8Array(B.buffer), 0);
  data.set(new Uint8Array(W.buffer), 4096);
  writeFileSync(join(d, 'weights.bin'), data);
  const bytes = model([
    f.message(ONNX.graph.node, node('MatMul', ['x', 'W'], ['h'], 'mm')),
    f.message(ONNX.graph.node, node('Add', ['h', 'B'], ['y'], 'add')),
    f.len(ONNX.graph.name, 'external'),
    f.message(ONNX.graph.initializer, externalTensor('W', FLOAT, [K, N], w.location ?? 'weights.bin', w.offset ?? 4096, w.length ?? W.byteLength)),
    f.message(ONNX.graph.initializer, externalTensor('B', FLOAT, [N], 'weights.bin', 0, B.byteLength)),
    f.message(ONNX.graph.input, valueInfo('x', FLOAT, [2, K])),
    f.message(ONNX.graph.output, valueInfo('y', FLOAT, [2, N])),
  ]);
  const path = join(d, 'model.onnx');
  writeFileSync(path, bytes);
  return path;
}

async function runOrt(path: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  const out = await session.run({ x: new ort.Tensor('float32', X, [2, K]) });
  await session.release();
  return out.y!.data as Float32Array;
}

function expectInputError(err: Error, ...parts: RegExp[]): void {
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).exitCode).toBe(2);
  expect(err.message).not.toContain('\n');
  for (const p of parts) expect(err.message).toMatch(p);
}

describe('io: external data', () => {
  it('io: tensors in weights.bin load lazily with the right values', async () => {
    const path = writeExternalModel(freshDir());
    const m = await loadModel(path);
    const w = m.graph.initializers.get('W')!;
    const b = m.graph.initializers.get('B')!;
    expect(w.isLazy).toBe(true);
    expect(b.isLazy).toBe(true);
    expect(w.dims).toEqual([K, N]);
    expect(w.typed()).toEqual(W);
    expect(b.typed()).toEqual(B);
    // Still lazy after reading: the values are read on demand, never cached in the model.
    expect(w.isLazy).toBe(true);
  });

  it('io: a model with external data saves inline: no data file, same values, same outputs in onnxruntime', async () => {
    const d = freshDir();
    const path = writeExternalModel(d);
    const m = await loadModel(path);
    const out = join(d, 'inline.onnx');
    const res = await saveModel(m, out);
    expect(res.externalPath).toBeUndefined();
    expect(readdirSync(d).sort()).toEqual(['inline.onnx', 'model.onnx', 'weights.bin']);
    const proto = P.ModelProto.decode(readFileSync(out));
    for (const t of proto.graph!.initializer!) {
      expect(t.dataLocation).toBe(0);
      expect(t.externalData).toHaveLength(0);
      expect(t.rawData!.byteLength).toBeGreaterThan(0);
    }
    const back = await loadModel(out);
    expect(back.graph.initializers.get('W')!.typed()).toEqual(W);
    expect(await runOrt(out)).toEqual(await runOrt(path));
  });

  it('io: saving with { externalData: true } writes <name>.data that onnxruntime runs with identical outputs', async () => {
    const d = freshDir();
    const path = writeExternalModel(d);
    const m = await loadModel(path);
    const out = join(d, 'saved.onnx');
    const res = await saveModel(m, out, { externalData: true });
    expect(res.externalPath).toBe(join(d, 'saved.onnx.data'));
    expect(existsSync(join(d, 'saved.onnx.data'))).toBe(true);
    // W (8 KB) goes to the data file; B (128 bytes) is under the 1 KB threshold and stays inline.
    const proto = P.ModelProto.decode(readFileSync(out));
    const w = proto.graph!.initializer!.find((t) => t.name === 'W')!;
    const b = proto.graph!.initializer!.find((t) => t.name === 'B')!;
    expect(w.dataLocation).toBe(1);
    expect(Object.fromEntries(w.externalData!.map((e) => [e.key, e.value]))).toMatchObject({ location: 'saved.onnx.data', length: String(W.byteLength) });
    expect(b.dataLocation).toBe(0);
    expect(new Float32Array(new Uint8Array(b.rawData!).slice().buffer)).toEqual(B);
    const back = await loadModel(out);
    expect(back.graph.initializers.get('W')!.isLazy).toBe(true);
    expect(back.graph.initializers.get('W')!.typed()).toEqual(W);
    const expected = await runOrt(path);
    expect(await runOrt(out)).toEqual(expected);
    // And from the inline model too.
    const inline = join(d, 'inline.onnx');
    await saveModel(back, inline);
    const again = join(d, 'again.onnx');
    await saveModel(await loadModel(inline), again, { externalData: true, externalThreshold: 0 });
    expect(P.ModelProto.decode(readFileSync(again)).graph!.initializer!.every((t) => t.dataLocation === 1)).toBe(true);
    expect(await runOrt(again)).toEqual(expected);
  });

  it('io: extra external_data entries (e.g. checksum) are kept when saving external data again', async () => {
    const d = freshDir();
    writeFileSync(join(d, 'w.bin'), new Uint8Array(B.buffer));
    const entry = (k: string, v: string) => f.message(ONNX.tensor.external_data, f.len(ONNX.entry.key, k), f.len(ONNX.entry.value, v));
    const tensor = concat(
      f.unpacked(ONNX.tensor.dims, [N]),
      f.varint(ONNX.tensor.data_type, FLOAT),
      f.len(ONNX.tensor.name, 'B'),
      entry('location', 'w.bin'),
      entry('checksum', 'abc123'),
      f.varint(ONNX.tensor.data_location, 1),
    );
    const path = join(d, 'm.onnx');
    writeFileSync(path, model([f.message(ONNX.graph.initializer, tensor)]));
    const m = await loadModel(path);
    expect(m.graph.initializers.get('B')!.typed()).toEqual(B); // no offset/length: the whole file
    await saveModel(m, join(d, 'out.onnx'), { externalData: 'out.bin', externalThreshold: 0 });
    const t = P.ModelProto.decode(readFileSync(join(d, 'out.onnx'))).graph!.initializer![0]!;
    expect(t.externalData!.map((e) => [e.key, e.value])).toEqual([
      ['location', 'out.bin'],
      ['offset', '0'],
      ['length', String(B.byteLength)],
      ['checksum', 'abc123'],
    ]);
    expect(new Uint8Array(readFileSync(join(d, 'out.bin')))).toEqual(new Uint8Array(B.buffer));
  });

  it('io: an onnx-python model with external data (weights.bin) loads lazily and runs', async () => {
    const path = join(FIXTURES, 'python-external', 'model.onnx');
    const m = await loadModel(path);
    const w = m.graph.initializers.get('W')!;
    expect(w.isLazy).toBe(true);
    expect(w.typed()).toEqual(Float32Array.from({ length: 12 }, (_, i) => i / 8));
    expect(m.graph.initializers.get('B')!.typed()).toEqual(Float32Array.of(0.5, -0.5, 1, -1));
    const out = join(freshDir(), 'copy.onnx');
    await saveModel(m, out, { externalData: true, externalThreshold: 0 });
    const session = await ort.InferenceSession.create(out);
    const res = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [1, 3]) });
    await session.release();
    // [1,2,3] · arange(12).reshape(3,4)/8 + B
    const ref = [0, 1, 2, 3].map((j) => (1 * j + 2 * (4 + j) + 3 * (8 + j)) / 8 + [0.5, -0.5, 1, -1][j]!);
    expect(Array.from(res.y!.data as Float32Array)).toEqual(ref);
  });

  it('io: an absolute external data location is refused, naming the tensor', async () => {
    const d = freshDir();
    const path = writeExternalModel(d, { location: join(d, 'weights.bin') });
    expectInputError(await errorOf(loadModel(path)), /tensor 'W'/, /absolute path/, /model\.onnx/);
  });

  it("io: an external data location with '../' leading out of the model directory is refused", async () => {
    const d = freshDir();
    writeFileSync(join(root, 'outside.bin'), new Uint8Array(W.byteLength + 4096));
    const path = writeExternalModel(d, { location: '../outside.bin' });
    expectInputError(await errorOf(loadModel(path)), /tensor 'W'/, /escapes the model directory/);
    // Going down and back up again stays inside and is fine.
    mkdirSync(join(d, 'sub'));
    const ok = writeExternalModel(d, { location: 'sub/../weights.bin' });
    expect((await loadModel(ok)).graph.initializers.get('W')!.typed()).toEqual(W);
  });

  it('io: an external data file that is a symlink pointing outside the model directory is refused', async () => {
    const d = freshDir();
    const outside = join(root, 'secret.bin');
    writeFileSync(outside, new Uint8Array(W.byteLength + 4096));
    const path = writeExternalModel(d, { location: 'link.bin' });
    symlinkSync(outside, join(d, 'link.bin'));
    expectInputError(await errorOf(loadModel(path)), /tensor 'W'/, /symlink outside the model directory/);
    // A symlink that stays inside the directory is allowed.
    symlinkSync(join(d, 'weights.bin'), join(d, 'inside.bin'));
    const ok = writeExternalModel(d, { location: 'inside.bin' });
    expect((await loadModel(ok)).graph.initializers.get('W')!.typed()).toEqual(W);
  });

  it('io: external data whose offset + length runs past the end of the file is refused', async () => {
    const d = freshDir();
    const path = writeExternalModel(d, { offset: 4097 });
    expectInputError(await errorOf(loadModel(path)), /tensor 'W'/, /ends at byte 12289/, /has only 12288 bytes/);
    // A length that does not match the shape is refused too.
    const short = writeExternalModel(freshDir(), { length: 16 });
    expectInputError(await errorOf(loadModel(short)), /tensor 'W'/, /does not match its shape/);
    // And a missing file.
    const missing = writeExternalModel(freshDir(), { location: 'nope.bin' });
    expectInputError(await errorOf(loadModel(missing)), /tensor 'W'/, /file not found/);
  });

  it('io: saveModel refuses to overwrite its own input and its own external data file', async () => {
    const d = freshDir();
    const path = writeExternalModel(d);
    const before = [readFileSync(path), readFileSync(join(d, 'weights.bin'))];
    const m = await loadModel(path);
    expectInputError(await errorOf(saveModel(m, path)), /model\.onnx/, /own input/);
    // The same file through another spelling of the path.
    expectInputError(await errorOf(saveModel(m, join(d, 'sub', '..', 'model.onnx'))), /own input/);
    // The external data file as the data target of another model file …
    expectInputError(await errorOf(saveModel(m, join(d, 'other.onnx'), { externalData: 'weights.bin' })), /weights\.bin/, /external data/);
    // … or as the model file itself.
    expectInputError(await errorOf(saveModel(m, join(d, 'weights.bin'))), /weights\.bin/);
    expect(readFileSync(path).equals(before[0]!)).toBe(true);
    expect(readFileSync(join(d, 'weights.bin')).equals(before[1]!)).toBe(true);
    expect(readdirSync(d).sort()).toEqual(['model.onnx', 'weights.bin']);
  });
});
