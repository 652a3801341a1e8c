import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { decodeNpy, encodeNpy, npyHeaderLength, parseNpyHeader, NPY_PRELUDE_BYTES, type NpArray } from '../../src/data/npy.ts';

/** Written once by numpy 2.4 (np.lib.format.write_array); the suite needs no Python. */
const NUMPY = {
  // [1.5, -2.25] '<f8', format version 2.0
  v2:
    'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAg' +
    'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAD4PwAAAAAAAALA',
  // [[1,-2],[3,4]] '<i4', format version 3.0
  v3:
    'k05VTVBZAwB0AAAAeydkZXNjcic6ICc8aTQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMiksIH0g' +
    'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAA/v///wMAAAAEAAAA',
  // np.asfortranarray(arange(6).reshape(2,3)) '<f4'
  fortran:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAg' +
    'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAABAQAAAgD8AAIBA' +
    'AAAAQAAAoEA=',
  // [1, 2] '>f4'
  bigEndian:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAg' +
    'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/gAAAQAAAAA==',
  // [-1, 2, -3] '|i1', format version 1.0
  int8:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnfGkxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAg' +
    'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr/Av0=',
};
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

function thrown(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).not.toContain('\n');
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

describe('npy', () => {
  it('npy: reads numpy format 2.0 float64', () => {
    const a = decodeNpy(bytes(NUMPY.v2), 'v2.npy');
    expect(a.dtype).toBe('float64');
    expect(a.shape).toEqual([2]);
    expect([...a.data]).toEqual([1.5, -2.25]);
  });

  it('npy: reads numpy format 3.0 int32', () => {
    const a = decodeNpy(bytes(NUMPY.v3), 'v3.npy');
    expect(a.dtype).toBe('int32');
    expect(a.shape).toEqual([2, 2]);
    expect([...a.data]).toEqual([1, -2, 3, 4]);
  });

  it('npy: writes the same bytes as numpy for int8', () => {
    const arr: NpArray = { dtype: 'int8', shape: [3], data: new Int8Array([-1, 2, -3]) };
    expect(Buffer.from(encodeNpy(arr)).toString('base64')).toBe(NUMPY.int8);
  });

  it('npy: header parses from its first bytes alone', () => {
    const file = bytes(NUMPY.v3);
    const length = npyHeaderLength(file.subarray(0, NPY_PRELUDE_BYTES), 'v3.npy');
    expect(length).toBe(128);
    const h = parseNpyHeader(file.subarray(0, length), 'v3.npy');
    expect(h).toEqual({ dtype: 'int32', shape: [2, 2], headerBytes: 128, dataBytes: 16 });
  });

  it('npy: round-trips every dtype and a scalar', () => {
    const arrays: NpArray[] = [
      { dtype: 'float32', shape: [2, 2], data: new Float32Array([0.5, -1, 3.25, 1e30]) },
      { dtype: 'float64', shape: [1], data: new Float64Array([Math.PI]) },
      { dtype: 'uint8', shape: [3], data: new Uint8Array([0, 128, 255]) },
      { dtype: 'int8', shape: [2], data: new Int8Array([-128, 127]) },
      { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
      { dtype: 'int16', shape: [1], data: new Int16Array([-300]) },
      { dtype: 'uint16', shape: [1], data: new Uint16Array([65535]) },
      { dtype: 'int32', shape: [1, 1, 2], data: new Int32Array([-7, 2 ** 31 - 1]) },
      { dtype: 'uint32', shape: [1], data: new Uint32Array([2 ** 32 - 1]) },
      { dtype: 'int64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 5n]) },
      { dtype: 'uint64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
      { dtype: 'float16', shape: [1], data: new Uint16Array([0x3c00]) },
      { dtype: 'float32', shape: [], data: new Float32Array([7]) },
      { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) },
    ];
    for (const arr of arrays) {
      const file = encodeNpy(arr);
      expect(file.length % 64).toBe(arr.data.byteLength % 64);
      expect(decodeNpy(file, 'a.npy')).toEqual(arr);
    }
  });

  it('npy: refuses Fortran order with a clear error', () => {
    expect(thrown(() => decodeNpy(bytes(NUMPY.fortran), 'f.npy')).message).toMatch(/^f\.npy: Fortran-order arrays are not supported/);
  });

  it('npy: refuses big-endian data', () => {
    expect(thrown(() => decodeNpy(bytes(NUMPY.bigEndian), 'be.npy')).message).toMatch(/^be\.npy: big-endian dtype '>f4'/);
  });

  it('npy: refuses garbage, truncation and unknown dtypes', () => {
    expect(thrown(() => decodeNpy(new Uint8Array(64).fill(7), 'g.npy')).message).toBe('g.npy: not a .npy array (bad magic)');
    const v2 = bytes(NUMPY.v2);
    expect(thrown(() => decodeNpy(v2.subarray(0, 50), 't.npy')).message).toBe('t.npy: truncated .npy header');
    expect(thrown(() => decodeNpy(v2.subarray(0, v2.length - 1), 't.npy')).message).toBe('t.npy: truncated .npy data (15 of 16 bytes)');
    const complex = Buffer.from(bytes(NUMPY.int8));
    complex.write("'<c8'", complex.indexOf("'|i1'"), 'latin1');
    expect(thrown(() => decodeNpy(complex, 'c.npy')).message).toBe("c.npy: unsupported .npy dtype '<c8'");
  });

  it('npy: encode names the array whose data does not match its shape', () => {
    const bad: NpArray = { dtype: 'float32', shape: [2, 3], data: new Float32Array(5) };
    expect(thrown(() => encodeNpy(bad, 'x')).message).toBe('array x: shape [2,3] needs 6 values, data has 5');
    const wrongType = { dtype: 'int64', shape: [1], data: new Int32Array(1) } as unknown as NpArray;
    expect(thrown(() => encodeNpy(wrongType, 'y')).message).toBe('array y: dtype int64 needs a BigInt64Array, got Int32Array');
  });
});
