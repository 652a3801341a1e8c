/**
 * How many elements a tensor's dims call for, and how many its storage holds — computed
 * before anything is allocated, with exact integers: a damaged file can declare dims whose
 * product is far past 2^53 (a float64 would round it, and a typed array of that length
 * throws RangeError), while its data field holds a handful of values.
 */
import { chunkLength, readChunk, type Chunk } from '../onnx/chunk.ts';
import { DTYPES, type DataField, type DType } from '../onnx/dtype.ts';
import type { Int64 } from '../onnx/wire.ts';

/** Dims as read from the file: each must be a non-negative integer JS numbers hold exactly. */
export function checkedDims(dims: readonly Int64[], what: string): number[] {
  return dims.map((d) => {
    if (typeof d !== 'number' || d < 0 || !Number.isSafeInteger(d)) throw new Error(`${what} has an impossible dimension ${String(d)}`);
    return d;
  });
}

export function elementCount(dims: readonly number[]): bigint {
  return dims.reduce((n, d) => n * BigInt(d), 1n);
}

/** Bytes `count` elements take in raw_data (sub-byte types round up), exactly. */
export function rawBytesFor(dtype: DType, count: bigint): bigint {
  return (count * BigInt(DTYPES[dtype].bits) + 7n) / 8n;
}

/**
 * Entries a typed data field must have for `count` elements: complex numbers take two,
 * 4-bit types pack two elements per int32 entry (onnx.proto), the rest one each.
 */
export function fieldEntriesFor(dtype: DType, count: bigint): bigint {
  if (dtype === 'complex64' || dtype === 'complex128') return count * 2n;
  if (DTYPES[dtype].bits === 4) return (count + 1n) / 2n;
  return count;
}

/** Entries stored in a packed typed field: fixed-width floats by length, varints by their last bytes. */
export function fieldEntries(field: Exclude<DataField, 'string_data'>, chunk: Chunk): bigint {
  if (field === 'float_data' || field === 'double_data') {
    const width = field === 'float_data' ? 4 : 8;
    const length = chunkLength(chunk);
    if (length % width !== 0) return -1n; // a torn last value: never a match
    return BigInt(length / width);
  }
  // Bounded by the file: a varint field is as large as its bytes in the model.
  const bytes = readChunk(chunk);
  let n = 0;
  for (let i = 0; i < bytes.byteLength; i++) if ((bytes[i]! & 0x80) === 0) n++;
  if (bytes.byteLength > 0 && (bytes[bytes.byteLength - 1]! & 0x80) !== 0) return -1n;
  return BigInt(n);
}
