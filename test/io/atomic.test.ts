import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { loadModel } from '../../src/io/load.ts';
import { saveModel } from '../../src/io/save.ts';
import { Model } from '../../src/ir/model.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { ONNX, f, model, rawTensor } from '../helpers/proto.ts';
import { errorOf } from '../helpers/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'shrinkray-io-atomic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
function freshDir(): string {
  const d = join(root, `case-${dirs++}`);
  mkdirSync(d);
  return d;
}

/** A model with two 256 KB tensors, which stay lazy slices of the file after loading. */
function writeLazyModel(d: string): string {
  const tensor = (name: string, fill: number) => f.message(ONNX.graph.initializer, rawTensor(name, 2, [256 * 1024], new Uint8Array(256 * 1024).fill(fill)));
  const path = join(d, 'source.onnx');
  writeFileSync(path, model([tensor('a', 1), tensor('b', 2)]));
  return path;
}

describe('io: atomic writes', () => {
  it('io: saving into a missing directory fails with an InputError and creates nothing', async () => {
    const d = freshDir();
    const m = await loadModel(writeLazyModel(d));
    const target = join(d, 'missing', 'out.onnx');
    const err = await errorOf(saveModel(m, target));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(`${target}: cannot write (ENOENT)`);
    expect(readdirSync(d)).toEqual(['source.onnx']);
  });

  it('io: a save whose lazy tensor source vanished leaves no partial file and no temp file, and the old target intact', async () => {
    const d = freshDir();
    const src = writeLazyModel(d);
    const m = await loadModel(src);
    expect(m.graph.initializers.get('a')!.isLazy).toBe(true);
    const out = freshDir();
    const target = join(out, 'out.onnx');
    writeFileSync(target, 'previous version');
    rmSync(src);
    const err = await errorOf(saveModel(m, target));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain(src);
    expect(err.message).not.toContain('\n');
    expect(readdirSync(out)).toEqual(['out.onnx']);
    expect(readFileSync(target, 'utf8')).toBe('previous version');
  });

  it('io: the same failure while writing external data leaves neither the data file, the model nor temp files', async () => {
    const d = freshDir();
    const src = writeLazyModel(d);
    const m = await loadModel(src);
    rmSync(src);
    const out = freshDir();
    const err = await errorOf(saveModel(m, join(out, 'out.onnx'), { externalData: true }));
    expect(err).toBeInstanceOf(InputError);
    expect(readdirSync(out)).toEqual([]);
  });

  it('io: a lazy tensor source truncated after loading fails the save with an InputError naming it, leaving nothing', async () => {
    const d = freshDir();
    const src = writeLazyModel(d);
    const m = await loadModel(src);
    truncateSync(src, 300 * 1024); // tensor 'b' now runs past the end
    const out = freshDir();
    const err = await errorOf(saveModel(m, join(out, 'out.onnx')));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain(src);
    expect(err.message).not.toContain('\n');
    expect(readdirSync(out)).toEqual([]);
  });

  it('io: when the model file cannot be put in place, the external data written for it is removed too', async () => {
    const d = freshDir();
    const m = await loadModel(writeLazyModel(d));
    const out = freshDir();
    // The target name is taken by a non-empty directory: the final rename fails after the data file was written.
    mkdirSync(join(out, 'out.onnx'));
    writeFileSync(join(out, 'out.onnx', 'keep'), 'x');
    const err = await errorOf(saveModel(m, join(out, 'out.onnx'), { externalData: true }));
    expect(err).toBeInstanceOf(InputError);
    expect(readdirSync(out)).toEqual(['out.onnx']);
    expect(readdirSync(join(out, 'out.onnx'))).toEqual(['keep']);
  });

  it('io: a successful save leaves exactly the model (and its data file), no temp files', async () => {
    const d = freshDir();
    const m = await loadModel(writeLazyModel(d));
    const out = freshDir();
    await saveModel(m, join(out, 'a.onnx'));
    await saveModel(m, join(out, 'b.onnx'), { externalData: true });
    // Overwriting an existing output (not the input) is allowed and also atomic.
    await saveModel(m, join(out, 'a.onnx'));
    expect(readdirSync(out).sort()).toEqual(['a.onnx', 'b.onnx', 'b.onnx.data']);
    expect((await loadModel(join(out, 'b.onnx'))).graph.initializers.get('b')!.bytes()[1000]).toBe(2);
  });

  it('io: a save large enough for background writeback gives identical bytes and leaves no descriptor open', async () => {
    // 80 MB of tensor data (written in 1 MB pieces): the writer starts a background fdatasync every 64 MB.
    const d = freshDir();
    const raw = join(d, 'raw.bin');
    const fd = openSync(raw, 'w');
    const piece = new Uint8Array(1 << 20);
    for (let i = 0; i < 80; i++) writeSync(fd, piece.fill(i));
    closeSync(fd);
    const m = new Model();
    m.graph.addInitializer(new Tensor('big', 'uint8', [80 << 20], { kind: 'raw', chunk: { path: raw, offset: 0, length: 80 << 20 } }));
    const openFds = () => readdirSync('/proc/self/fd').length;
    const before = openFds();
    const out = join(freshDir(), 'big.onnx');
    await saveModel(m, out);
    for (let i = 0; i < 100 && openFds() > before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(openFds()).toBe(before);
    const back = await loadModel(out);
    const bytes = back.graph.initializers.get('big')!.bytes();
    expect(bytes.byteLength).toBe(80 << 20);
    for (let i = 0; i < 80; i++) expect(bytes[i << 20]).toBe(i);
  });
});
