import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { openDataset, type Batch, type Dataset } from '../../src/data/dataset.ts';

const root = mkdtempSync(join(tmpdir(), 'shrinkray-img-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

type Rgb = [number, number, number];

/** A PNG of `pixels` (rows of RGB), alpha 255. */
function png(pixels: Rgb[][]): Buffer {
  const img = new PNG({ width: pixels[0].length, height: pixels.length });
  pixels.flat().forEach((p, i) => img.data.set([...p, 255], i * 4));
  return PNG.sync.write(img);
}

function solidJpeg(rgb: Rgb, size: number): Buffer {
  const data = Buffer.alloc(size * size * 4);
  for (let i = 0; i < size * size; i++) data.set([...rgb, 255], i * 4);
  return jpeg.encode({ data, width: size, height: size }, 100).data;
}

/** Builds a class-per-folder tree: { class: { file: bytes } }. */
function tree(spec: Record<string, Record<string, Uint8Array | string>>): string {
  const dir = join(root, `set${counter++}`);
  for (const [cls, files] of Object.entries(spec)) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, cls, name), bytes);
  }
  return dir;
}

async function collect(ds: Dataset, batchSize: number, limit?: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of ds.batches(batchSize, limit === undefined ? {} : { limit })) out.push(b);
  return out;
}

const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const WHITE: Rgb = [255, 255, 255];
const quad = png([
  [RED, GREEN],
  [BLUE, WHITE],
]);

describe('images', () => {
  it('images: class folders give sorted labels, interleaved so a limit is stratified', async () => {
    const dir = tree({
      dog: { 'a.png': png([[RED]]), 'b.png': png([[GREEN]]), 'notes.txt': 'not an image' },
      cat: { 'z.png': png([[BLUE]]), 'y.png': png([[WHITE]]) },
      '.cache': { 'c.png': png([[RED]]) },
    });
    const ds = await openDataset(dir, { image: { channels: 3 } });
    const batches = await collect(ds, 3);
    await ds.close();
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.x).toEqual({ dtype: 'float32', shape: [4, 3, 1, 1] });
    expect(ds.y).toEqual({ dtype: 'int64', shape: [4] });
    expect(batches.map((b) => [b.start, b.shape])).toEqual([[0, [3, 3, 1, 1]], [3, [1, 3, 1, 1]]]);
    expect(batches.flatMap((b) => [...b.y!])).toEqual([0n, 1n, 0n, 1n]);
    // cat/y.png (white), dog/a.png (red), cat/z.png (blue), dog/b.png (green)
    expect(batches.flatMap((b) => [...b.x])).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0]);
    const limited = await openDataset(dir);
    expect((await collect(limited, 10, 2)).flatMap((b) => [...b.y!])).toEqual([0n, 1n]);
  });

  it('images: NCHW and NHWC layouts with mean and std', async () => {
    const dir = tree({ only: { 'q.png': quad } });
    const spec = { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 1] };
    const nchw = await openDataset(dir, { image: { ...spec, layout: 'NCHW' } });
    const nhwc = await openDataset(dir, { image: { ...spec, layout: 'NHWC' } });
    const [a] = await collect(nchw, 1);
    const [b] = await collect(nhwc, 1);
    expect(a.shape).toEqual([1, 3, 2, 2]);
    expect(b.shape).toEqual([1, 2, 2, 3]);
    // R plane: red, green, blue, white -> (v - 0.5) / 0.5; G plane uses std 0.25; B std 1.
    expect([...a.x]).toEqual([1, -1, -1, 1, -2, 2, -2, 2, -0.5, -0.5, 0.5, 0.5]);
    expect([...b.x]).toEqual([1, -2, -0.5, -1, 2, -0.5, -1, -2, 0.5, 1, 2, 0.5]);
  });

  it('images: grayscale uses ITU-R 601 luma', async () => {
    const dir = tree({ only: { 'q.png': quad } });
    const ds = await openDataset(dir, { image: { channels: 1, scale: 1 } });
    const [b] = await collect(ds, 1);
    expect(b.shape).toEqual([1, 1, 2, 2]);
    const expected = [0.299 * 255, 0.587 * 255, 0.114 * 255, 255];
    [...b.x].forEach((v, i) => expect(v).toBeCloseTo(expected[i], 3));
  });

  it('images: resizes bilinearly to the requested size', async () => {
    const dir = tree({ only: { 'q.png': quad } });
    const ds = await openDataset(dir, { image: { size: [1, 1], scale: 1 } });
    const [b] = await collect(ds, 1);
    expect(b.shape).toEqual([1, 3, 1, 1]);
    // Half-pixel centres: a 2x2 -> 1x1 sample lands between all four pixels.
    expect([...b.x]).toEqual([127.5, 127.5, 127.5]);
    const up = await openDataset(tree({ only: { 'r.png': png([[RED, BLUE]]) } }), { image: { size: [1, 4], channels: 3, scale: 1 } });
    const [u] = await collect(up, 1);
    expect([...u.x].slice(0, 4)).toEqual([255, 191.25, 63.75, 0]);
  });

  it('images: decodes JPEG files too', async () => {
    const dir = tree({ a: { 'x.jpg': solidJpeg([200, 100, 50], 8) }, b: { 'y.JPEG': solidJpeg([10, 20, 30], 8) } });
    const ds = await openDataset(dir, { image: { size: [2, 2], scale: 1, layout: 'NHWC' } });
    const [batch] = await collect(ds, 2);
    expect(batch.shape).toEqual([2, 2, 2, 3]);
    const px = (i: number) => [...batch.x.slice(i * 12, i * 12 + 3)].map(Number);
    px(0).forEach((v, k) => expect(Math.abs(v - [200, 100, 50][k])).toBeLessThan(4));
    px(1).forEach((v, k) => expect(Math.abs(v - [10, 20, 30][k])).toBeLessThan(4));
  });

  it('images: a broken image or an empty tree fails with a one-line InputError naming it', async () => {
    const dir = tree({ a: { 'good.png': quad, 'zbad.png': 'garbage, not a png' } });
    const ds = await openDataset(dir);
    const err = await collect(ds, 2).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(`${join(dir, 'a', 'zbad.png')}: not a PNG or JPEG image`);
    const empty = tree({ a: { 'readme.txt': 'hi' } });
    await expect(openDataset(empty)).rejects.toThrow(new InputError(`${empty}: no .png/.jpg/.jpeg images in its class sub-folders`));
    const cut = tree({ a: { 'c.png': quad.subarray(0, 40) } });
    // Without an explicit size the first image is decoded at open time, to take its size.
    await expect(openDataset(cut)).rejects.toThrow(new RegExp(`^${join(cut, 'a', 'c.png')}: cannot decode image \\(`));
    await expect(openDataset(dir, { image: { mean: [1, 2] } })).rejects.toThrow(new InputError(`${dir}: image mean needs 1 or 3 values, got 2`));
  });
});
