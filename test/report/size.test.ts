import { mkdtemp, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { BROTLI_QUALITY, COMPRESSED_SIZE_LIMIT, formatSize, measureSizes, parseSize } from '../../src/report/size.ts';

/** 2.2 MB (several stream chunks) of half-compressible bytes. */
function data(): Uint8Array {
  const out = new Uint8Array(3_000_000);
  let s = 5;
  for (let i = 0; i < out.length; i++) out[i] = i % 2 ? (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24 : 0;
  return out;
}

describe('report/size', () => {
  it('size: streamed sizes of bytes and of a file agree with one-shot zlib', async () => {
    const bytes = data();
    const path = join(await mkdtemp(join(tmpdir(), 'shrinkray-size-')), 'm.onnx');
    await writeFile(path, bytes);
    const expected = {
      sizeBytes: bytes.length,
      gzipBytes: zlib.gzipSync(bytes, { level: 9 }).length,
      brotliBytes: zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } }).length,
    };
    expect(await measureSizes(bytes)).toEqual(expected);
    expect(await measureSizes(path)).toEqual(expected);
    expect(expected.gzipBytes).toBeLessThan(bytes.length);
  });

  it('size: an empty model has tiny compressed sizes', async () => {
    const s = await measureSizes(new Uint8Array(0));
    expect(s.sizeBytes).toBe(0);
    expect(s.gzipBytes).toBe(20); // gzip header and trailer
    expect(s.brotliBytes).toBeLessThan(4);
  });

  it('size: compressed sizes are skipped when told, and above 64 MiB unless told to measure', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shrinkray-size-'));
    const big = join(dir, 'big.onnx');
    await writeFile(big, '');
    await truncate(big, COMPRESSED_SIZE_LIMIT + 1); // sparse: no disk or memory spent
    expect(await measureSizes(big)).toEqual({ sizeBytes: COMPRESSED_SIZE_LIMIT + 1 });
    expect(await measureSizes(data(), 'never')).toEqual({ sizeBytes: 3_000_000 });
    const small = join(dir, 'small.onnx');
    await writeFile(small, '');
    await truncate(small, 1000);
    expect(await measureSizes(small, 'auto')).toMatchObject({ sizeBytes: 1000, gzipBytes: expect.any(Number) });
  });

  it('size: a missing file is an InputError naming it', async () => {
    await expect(measureSizes('/nonexistent/m.onnx')).rejects.toThrow(InputError);
    await expect(measureSizes('/nonexistent/m.onnx')).rejects.toThrow('cannot read /nonexistent/m.onnx: ENOENT');
  });

  it('size: parseSize reads SI, IEC and plain byte counts', () => {
    expect(parseSize('1.5MB')).toBe(1_500_000);
    expect(parseSize('300KB')).toBe(300_000);
    expect(parseSize('1234')).toBe(1234);
    expect(parseSize('2KiB')).toBe(2048);
    expect(parseSize('1.5 MiB')).toBe(1_572_864);
    expect(parseSize('1gb')).toBe(1e9);
    expect(parseSize('1GiB')).toBe(2 ** 30);
    expect(parseSize('.5kB')).toBe(500);
    expect(parseSize('12B')).toBe(12);
  });

  it('size: parseSize refuses what it cannot read', () => {
    for (const bad of ['', 'MB', '-1MB', '1.5XB', '1,5MB', '1e6', '1 M B']) {
      expect(() => parseSize(bad), bad).toThrow(InputError);
    }
    expect(() => parseSize('12 parsecs')).toThrow('invalid size "12 parsecs"');
  });

  it('size: formatSize uses SI units and steps up on rounding', () => {
    expect(formatSize(999)).toBe('999 B');
    expect(formatSize(1000)).toBe('1.00 KB');
    expect(formatSize(1_234_567)).toBe('1.23 MB');
    expect(formatSize(999_999)).toBe('1.00 MB');
    expect(formatSize(45_700_000_000)).toBe('45.7 GB');
  });
});
