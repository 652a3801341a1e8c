import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NpArray } from '../../src/data/npy.ts';
import { Npz, readNpz, writeNpz } from '../../src/data/npz.ts';
import { inputErrorOf } from '../helpers/errors.ts';

/**
 * Written once by numpy 2.4 (its local headers carry zip64 extras, as numpy always writes):
 * x = (arange(12,'<f4').reshape(3,1,2,2)/8), y = [2,0,1] '<i8',
 * u = [[0,255],[7,128]] '|u1', m = [True,False,True].
 */
const NUMPY_COMPRESSED = // np.savez_compressed(x=, y=, u=, m=)
  'UEsDBC0AAAAIAAAAIQAwuIie//////////8FABQAeC5ucHkBABAAsAAAAAAAAABrAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxc' +
  'pG6loG6TZqKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GsY6CoY6CkZApKmjUKtABuBigAA7BoYGID4AxAz2DAwK' +
  'QOwAxAlA3ADEE4B4ARBvsAcAUEsDBC0AAAAIAAAAIQCKGs4T//////////8FABQAeS5ucHkBABAAmAAAAAAAAABKAAAAAAAA' +
  'AJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TaaGuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GsY6mjoKtQoUAC4mBlTA' +
  'CKUBUEsDBC0AAAAIAAAAIQBZWkFg//////////8FABQAdS5ucHkBABAAhAAAAAAAAABKAAAAAAAAAJvsF+obEMnIUMZQrZ6S' +
  'WpxcpG6loF5Taqiuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6CkaaOgq1CmQDLob/7A0AUEsDBC0AAAAIAAAA' +
  'IQAWk4y7//////////8FABQAbS5ucHkBABAAgwAAAAAAAABHAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loF6TZKiuo6Ce' +
  'll9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GsY6mjoKtQoUAC5GBkYAUEsBAi0DLQAAAAgAAAAhADC4iJ5rAAAAsAAAAAUA' +
  'AAAAAAAAAAAAAIABAAAAAHgubnB5UEsBAi0DLQAAAAgAAAAhAIoazhNKAAAAmAAAAAUAAAAAAAAAAAAAAIABogAAAHkubnB5' +
  'UEsBAi0DLQAAAAgAAAAhAFlaQWBKAAAAhAAAAAUAAAAAAAAAAAAAAIABIwEAAHUubnB5UEsBAi0DLQAAAAgAAAAhABaTjLtH' +
  'AAAAgwAAAAUAAAAAAAAAAAAAAIABpAEAAG0ubnB5UEsFBgAAAAAEAAQAzAAAACICAAAAAA==';
const NUMPY_STORED = // np.savez(x=, y=)
  'UEsDBC0AAAAAAAAAIQAwuIie//////////8FABQAeC5ucHkBABAAsAAAAAAAAACwAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2Ny' +
  'JzogJzxmNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgzLCAxLCAyLCAyKSwgfSAgICAgICAgICAgICAg' +
  'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAAAAAAAAD4AAIA+AADAPgAAAD8AACA/AABAPwAAYD8A' +
  'AIA/AACQPwAAoD8AALA/UEsDBC0AAAAAAAAAIQCKGs4T//////////8FABQAeS5ucHkBABAAmAAAAAAAAACYAAAAAAAAAJNO' +
  'VU1QWQEAdgB7J2Rlc2NyJzogJzxpOCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgzLCksIH0gICAgICAg' +
  'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAgAAAAAAAAAAAAAAAAAAAAEA' +
  'AAAAAAAAUEsBAi0DLQAAAAAAAAAhADC4iJ6wAAAAsAAAAAUAAAAAAAAAAAAAAIABAAAAAHgubnB5UEsBAi0DLQAAAAAAAAAh' +
  'AIoazhOYAAAAmAAAAAUAAAAAAAAAAAAAAIAB5wAAAHkubnB5UEsFBgAAAAACAAIAZgAAALYBAAAAAA==';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-npz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const tempFile = (bytes?: Uint8Array) => {
  const path = join(dir, `t${counter++}.npz`);
  if (bytes) writeFileSync(path, bytes);
  return path;
};

const arrays: Record<string, NpArray> = {
  x: { dtype: 'float32', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 3 - 1) },
  img: { dtype: 'uint8', shape: [2, 2, 2], data: new Uint8Array([0, 1, 2, 3, 252, 253, 254, 255]) },
  y: { dtype: 'int64', shape: [4], data: new BigInt64Array([3n, -1n, 2n ** 40n, 0n]) },
};

describe('npz', () => {
  for (const [mode, opts] of [
    ['stored', {}],
    ['compressed', { compress: true }],
    ['zip64 stored', { forceZip64: true }],
    ['zip64 compressed', { compress: true, forceZip64: true }],
  ] as const) {
    it(`npz: round-trips float32, uint8 and int64 arrays (${mode})`, async () => {
      const path = tempFile();
      await writeNpz(path, arrays, opts);
      expect(await readNpz(path)).toEqual(arrays);
    });
  }

  it('npz: compressed output is smaller for compressible data', async () => {
    const zeros: Record<string, NpArray> = { z: { dtype: 'float32', shape: [1000], data: new Float32Array(1000) } };
    const [stored, compressed] = [tempFile(), tempFile()];
    await writeNpz(stored, zeros);
    await writeNpz(compressed, zeros, { compress: true });
    expect(readFileSync(compressed).length).toBeLessThan(readFileSync(stored).length / 10);
  });

  it('npz: reads compressed float32 written by numpy', async () => {
    const got = await readNpz(tempFile(Buffer.from(NUMPY_COMPRESSED, 'base64')));
    expect(Object.keys(got)).toEqual(['x', 'y', 'u', 'm']);
    expect(got.x.shape).toEqual([3, 1, 2, 2]);
    expect([...got.x.data]).toEqual(Array.from({ length: 12 }, (_, i) => i / 8));
    expect(got.y).toEqual({ dtype: 'int64', shape: [3], data: new BigInt64Array([2n, 0n, 1n]) });
    expect(got.u).toEqual({ dtype: 'uint8', shape: [2, 2], data: new Uint8Array([0, 255, 7, 128]) });
    expect(got.m).toEqual({ dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) });
  });

  it('npz: reads stored arrays written by numpy, header first', async () => {
    const npz = await Npz.open(tempFile(Buffer.from(NUMPY_STORED, 'base64')));
    try {
      expect(npz.names).toEqual(['x', 'y']);
      expect(npz.header('x')).toMatchObject({ dtype: 'float32', shape: [3, 1, 2, 2] });
      const rows = await npz.rows('x');
      expect([...(await rows.read(2))]).toEqual(Array.from({ length: 8 }, (_, i) => i / 8));
      expect([...(await rows.read(5))]).toEqual([1, 1.125, 1.25, 1.375]);
      await rows.close();
    } finally {
      await npz.close();
    }
  });

  it('npz: streams rows of a deflated array', async () => {
    const path = tempFile();
    await writeNpz(path, arrays, { compress: true });
    const npz = await Npz.open(path);
    const rows = await npz.rows('x');
    const parts = [await rows.read(3), await rows.read(3)];
    await rows.close();
    await npz.close();
    expect(parts.map((p) => p.length)).toEqual([9, 3]);
    expect([...parts[0], ...parts[1]]).toEqual([...arrays.x.data]);
  });

  it('npz: a missing array lists the arrays present', async () => {
    const path = tempFile();
    await writeNpz(path, arrays);
    const npz = await Npz.open(path);
    try {
      expect(() => npz.header('labels')).toThrow(`${path}: no array 'labels' (arrays: x, img, y)`);
    } finally {
      await npz.close();
    }
  });

  it('npz: garbage and truncated files fail with a one-line InputError', async () => {
    const garbage = tempFile(Buffer.from('this is not a zip file at all, just some text'));
    expect((await inputErrorOf(readNpz(garbage))).message).toBe(`${garbage}: not a zip/npz file, or truncated (no end of central directory)`);
    const tiny = tempFile(Buffer.from('PK'));
    expect((await inputErrorOf(readNpz(tiny))).message).toBe(`${tiny}: not a zip/npz file (too short)`);
    const good = Buffer.from(NUMPY_STORED, 'base64');
    const cut = tempFile(good.subarray(0, good.length - 30));
    expect((await inputErrorOf(readNpz(cut))).message).toBe(`${cut}: not a zip/npz file, or truncated (no end of central directory)`);
    const missing = join(dir, 'nope.npz');
    expect((await inputErrorOf(readNpz(missing))).message).toMatch(new RegExp(`^${missing}: cannot open`));
  });

  it('npz: a damaged stored entry fails its CRC check', async () => {
    const bytes = Buffer.from(NUMPY_STORED, 'base64');
    bytes[200] ^= 0xff; // inside x's data
    const path = tempFile(bytes);
    expect((await inputErrorOf(readNpz(path))).message).toBe(`${path} (x.npy): CRC mismatch (corrupt archive)`);
  });

  it('npz: a damaged deflate stream fails as corrupt', async () => {
    const early = Buffer.from(NUMPY_COMPRESSED, 'base64');
    early.fill(0xff, 100, 140); // inside x's compressed data
    const p1 = tempFile(early);
    expect((await inputErrorOf(readNpz(p1))).message).toBe(`${p1} (x.npy): compressed data ended early (truncated or corrupt)`);
    const invalid = Buffer.from(NUMPY_COMPRESSED, 'base64');
    invalid[55] = 0xff; // x's first deflate block (after 30 + 5 name + 20 zip64 extra bytes): reserved block type
    const p2 = tempFile(invalid);
    expect((await inputErrorOf(readNpz(p2))).message).toBe(`${p2} (x.npy): corrupt compressed data (invalid block type)`);
  });

  it('npz: refuses to write an array whose data does not fit its shape', async () => {
    const bad: Record<string, NpArray> = { x: { dtype: 'float32', shape: [3, 3], data: new Float32Array(8) } };
    expect((await inputErrorOf(writeNpz(tempFile(), bad))).message).toBe('array x: shape [3,3] needs 9 values, data has 8');
  });
});
