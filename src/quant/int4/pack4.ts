/**
 * 4-bit packing, as ONNX lays out INT4/UINT4 tensors and as MatMulNBits lays out its blobs:
 * two values per byte, the first in the low nibble. An odd count leaves the last high nibble 0.
 */

/** Packs 4-bit codes (signed −8..7 or unsigned 0..15; only the low 4 bits are kept). */
export function packNibbles(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]! & 0x0f;
    out[i >> 1] |= i & 1 ? v << 4 : v;
  }
  return out;
}

/** The first `count` values of packed bytes; `signed` sign-extends each nibble (INT4). */
export function unpackNibbles(bytes: Uint8Array, count: number, signed: boolean): Int8Array | Uint8Array {
  if (count > bytes.length * 2) throw new RangeError(`${bytes.length} bytes hold at most ${bytes.length * 2} values, not ${count}`);
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const v = (bytes[i >> 1]! >> (i & 1 ? 4 : 0)) & 0x0f;
    out[i] = signed && v > 7 ? v - 16 : v;
  }
  return out;
}
