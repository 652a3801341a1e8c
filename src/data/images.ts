/**
 * A folder of PNG/JPEG images with one sub-folder per class, decoded and preprocessed one
 * batch at a time. Only the file list is held in memory.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { InputError } from '../errors.ts';
import { batchTotal, type Batch, type Dataset } from './batch.ts';
import { errorText } from './stream.ts';

/**
 * How images become model input: each pixel's value v (0–255) becomes
 * `(v * scale - mean[c]) / std[c]`.
 */
export interface ImageSpec {
  /** [height, width] to resize to (bilinear, half-pixel centres). Default: the first image's size. */
  size?: [number, number];
  /** 1 = grayscale (ITU-R 601 luma, as PIL's 'L'), 3 = RGB. Alpha is dropped. Default 3. */
  channels?: 1 | 3;
  /** Default 'NCHW', the usual ONNX layout. */
  layout?: 'NCHW' | 'NHWC';
  /** Default 1/255, so values land in [0, 1] before mean/std. */
  scale?: number;
  /** Per channel, or one value for all. Default 0. */
  mean?: number[];
  /** Per channel, or one value for all. Default 1. */
  std?: number[];
}

interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Decodes PNG or JPEG (by content, not extension) to 8-bit RGBA. */
function decodeImage(bytes: Uint8Array, label: string): RgbaImage {
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: png.data };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (err) {
    throw new InputError(`${label}: cannot decode image (${errorText(err)})`, { cause: err });
  }
  throw new InputError(`${label}: not a PNG or JPEG image`);
}

type Resolved = Required<Omit<ImageSpec, 'size'>> & { size: [number, number] };

function resolveSpec(spec: ImageSpec, first: () => Promise<RgbaImage>, dir: string): Promise<Resolved> {
  const channels = spec.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new InputError(`${dir}: image channels must be 1 or 3, got ${String(channels)}`);
  const perChannel = (v: number[] | undefined, fallback: number, what: string): number[] => {
    const list = v ?? [fallback];
    if (list.length !== 1 && list.length !== channels) throw new InputError(`${dir}: image ${what} needs 1 or ${channels} values, got ${list.length}`);
    return list.length === 1 ? Array<number>(channels).fill(list[0]) : list;
  };
  const base = {
    channels,
    layout: spec.layout ?? 'NCHW',
    scale: spec.scale ?? 1 / 255,
    mean: perChannel(spec.mean, 0, 'mean'),
    std: perChannel(spec.std, 1, 'std'),
  };
  if (base.std.some((s) => s === 0)) throw new InputError(`${dir}: image std must not be 0`);
  if (spec.size !== undefined) {
    if (!spec.size.every((d) => Number.isInteger(d) && d > 0)) throw new InputError(`${dir}: bad image size [${spec.size.join(',')}]`);
    return Promise.resolve({ ...base, size: spec.size });
  }
  return first().then((img) => ({ ...base, size: [img.height, img.width] }));
}

/** Writes one preprocessed image into `out` at element offset `at`. */
function preprocess(img: RgbaImage, spec: Resolved, out: Float32Array, at: number): void {
  const [h, w] = spec.size;
  const c = spec.channels;
  const plane = h * w;
  const rgb = [0, 0, 0];
  for (let oy = 0; oy < h; oy++) {
    const sy = Math.min(Math.max((oy + 0.5) * (img.height / h) - 0.5, 0), img.height - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const fy = sy - y0;
    for (let ox = 0; ox < w; ox++) {
      const sx = Math.min(Math.max((ox + 0.5) * (img.width / w) - 0.5, 0), img.width - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const fx = sx - x0;
      for (let k = 0; k < 3; k++) {
        const p = (yy: number, xx: number) => img.data[(yy * img.width + xx) * 4 + k];
        const top = p(y0, x0) + (p(y0, x1) - p(y0, x0)) * fx;
        const bottom = p(y1, x0) + (p(y1, x1) - p(y1, x0)) * fx;
        rgb[k] = top + (bottom - top) * fy;
      }
      const values = c === 1 ? [0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]] : rgb;
      for (let k = 0; k < c; k++) {
        const v = (values[k] * spec.scale - spec.mean[k]) / spec.std[k];
        out[at + (spec.layout === 'NCHW' ? k * plane + oy * w + ox : (oy * w + ox) * c + k)] = v;
      }
    }
  }
}

/**
 * Opens a class-per-folder image set. Labels are the index of the sub-folder in sorted
 * (code point) order. Samples are ordered round-robin across classes, so every prefix, and
 * so every `limit`, is stratified by class.
 */
export async function openImageFolder(dir: string, spec: ImageSpec = {}): Promise<Dataset> {
  const subdirs = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.'));
  const classes = subdirs.map((d) => d.name).sort(byCodePoint);
  if (classes.length === 0) throw new InputError(`${dir}: no x.npy and no class sub-folders of images`);
  const perClass = await Promise.all(
    classes.map(async (name) =>
      (await readdir(join(dir, name), { withFileTypes: true }))
        .filter((f) => f.isFile() && IMAGE_EXT.test(f.name) && !f.name.startsWith('.'))
        .map((f) => f.name)
        .sort(byCodePoint)
        .map((f) => join(dir, name, f)),
    ),
  );
  const files: { path: string; label: number }[] = [];
  const longest = Math.max(...perClass.map((l) => l.length));
  for (let i = 0; i < longest; i++) {
    perClass.forEach((list, label) => {
      if (i < list.length) files.push({ path: list[i], label });
    });
  }
  if (files.length === 0) throw new InputError(`${dir}: no .png/.jpg/.jpeg images in its class sub-folders`);

  const load = async (path: string) => decodeImage(await readFile(path), path);
  const s = await resolveSpec(spec, () => load(files[0].path), dir);
  const [h, w] = s.size;
  const sampleShape = s.layout === 'NCHW' ? [s.channels, h, w] : [h, w, s.channels];
  const perSample = s.channels * h * w;

  return {
    path: dir,
    x: { dtype: 'float32', shape: [files.length, ...sampleShape] },
    y: { dtype: 'int64', shape: [files.length] },
    length: files.length,
    classes,
    async *batches(batchSize: number, opts: { limit?: number } = {}): AsyncGenerator<Batch> {
      const total = batchTotal(files.length, batchSize, opts.limit);
      for (let start = 0; start < total; start += batchSize) {
        const chunk = files.slice(start, Math.min(start + batchSize, total));
        const images = await Promise.all(chunk.map((f) => load(f.path)));
        const x = new Float32Array(chunk.length * perSample);
        images.forEach((img, i) => preprocess(img, s, x, i * perSample));
        const y = BigInt64Array.from(chunk, (f) => BigInt(f.label));
        yield { start, x, y, shape: [chunk.length, ...sampleShape] };
      }
    },
    close: () => Promise.resolve(),
  };
}
