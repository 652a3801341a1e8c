/**
 * Model size on disk and compressed (what a download or an app bundle costs). Files stream
 * through the compressors, so a large model is never held in memory twice.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { InputError } from '../errors.ts';

export interface Sizes {
  sizeBytes: number;
  /** Absent when not measured (see `CompressedSizes`). */
  gzipBytes?: number;
  brotliBytes?: number;
}

/**
 * When gzip/brotli sizes are measured: 'auto' up to `COMPRESSED_SIZE_LIMIT`. Both compress
 * at ~17 MB/s on a 2-core machine, so a 1 GB model would spend a minute on them.
 */
export type CompressedSizes = 'auto' | 'always' | 'never';
export const COMPRESSED_SIZE_LIMIT = 64 * 2 ** 20;

export const GZIP_LEVEL = 9;
/**
 * Quality 9, not 11: on 50 MB of weights (2-core machine), 11 took 117 s (dense float32),
 * 89 s (int8) and 139 s (37 % zeros) against 2.6 s, 1.9 s and 16 s for 9, for output only
 * 1.3 %, 0.01 % and 2.6 % smaller. 10 and 11 switch to a much slower parser; 9 is the best
 * below them, and stays near gzip -9's time (11 s on the sparse model). Numbers in
 * docs/report.md.
 */
export const BROTLI_QUALITY = 9;

const CHUNK = 1 << 20;

function* chunks(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += CHUNK) yield bytes.subarray(at, at + CHUNK);
}

async function compressedLength(open: () => Readable, compressor: zlib.Gzip | zlib.BrotliCompress): Promise<number> {
  let length = 0;
  const counter = new Writable({
    write(chunk: Buffer, _encoding, done) {
      length += chunk.length;
      done();
    },
  });
  await pipeline(open(), compressor, counter);
  return length;
}

/** One file of a model (or its bytes): its size and how to stream it. */
async function part(model: Uint8Array | string): Promise<{ size: number; open: () => Readable }> {
  if (typeof model !== 'string') return { size: model.length, open: () => Readable.from(chunks(model)) };
  try {
    return { size: (await stat(model)).size, open: () => createReadStream(model, { highWaterMark: CHUNK }) };
  } catch (err) {
    throw new InputError(`cannot read ${model}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

/**
 * Sizes of a model: the .onnx file (or bytes) plus its external data files, each compressed
 * on its own and summed (what shipping them as separate files costs).
 */
export async function measureSizes(model: Uint8Array | string, compressed: CompressedSizes = 'auto', dataFiles: readonly string[] = []): Promise<Sizes> {
  const parts = await Promise.all([model, ...dataFiles].map(part));
  const sizeBytes = parts.reduce((n, p) => n + p.size, 0);
  if (compressed === 'never' || (compressed === 'auto' && sizeBytes > COMPRESSED_SIZE_LIMIT)) return { sizeBytes };
  let gzipBytes = 0;
  let brotliBytes = 0;
  for (const { size, open } of parts) {
    const [g, b] = await Promise.all([
      compressedLength(open, zlib.createGzip({ level: GZIP_LEVEL })),
      compressedLength(open, zlib.createBrotliCompress({
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
        },
      })),
    ]);
    gzipBytes += g;
    brotliBytes += b;
  }
  return { sizeBytes, gzipBytes, brotliBytes };
}

/** SI units are powers of 1000 (as disks and downloads count), IEC units powers of 1024. */
const UNITS: Readonly<Record<string, number>> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30,
};

/** '1.5MB' → 1 500 000, '2KiB' → 2048, '1234' → 1234 bytes. Units are case-insensitive. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? (m[2] === '' ? 1 : UNITS[m[2]!.toLowerCase()]) : undefined;
  if (!m || unit === undefined) {
    throw new InputError(`invalid size "${text}": expected bytes or a number with B, KB, MB, GB, KiB, MiB or GiB (e.g. 1.5MB)`);
  }
  return Math.round(Number(m[1]) * unit);
}

/** Human size with SI units, matching parseSize: 1 234 567 → '1.23 MB'. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1000;
  let i = 0;
  // Step up on the rounded value so 999 999 B reads '1.00 MB', not '1.00e+3 KB'.
  while (Number(v.toPrecision(3)) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toPrecision(3)} ${units[i]}`;
}
