/**
 * NumPy `.npy` arrays: header parsing (separate, so a reader can take the header and then
 * stream rows), whole-array decoding and encoding. Little-endian, C order only: that is what
 * `np.save` writes on every common machine, and row streaming depends on C order.
 */
import { InputError } from '../errors.ts';
import type { TypedArray } from '../onnx/dtype.ts';

/** Array types as ONNX names them; 16-bit floats are kept as raw bits (Uint16Array). */
export const NP_DTYPES = {
  float16: { descr: 'f2', size: 2, array: Uint16Array },
  float32: { descr: 'f4', size: 4, array: Float32Array },
  float64: { descr: 'f8', size: 8, array: Float64Array },
  int8: { descr: 'i1', size: 1, array: Int8Array },
  uint8: { descr: 'u1', size: 1, array: Uint8Array },
  bool: { descr: 'b1', size: 1, array: Uint8Array },
  int16: { descr: 'i2', size: 2, array: Int16Array },
  uint16: { descr: 'u2', size: 2, array: Uint16Array },
  int32: { descr: 'i4', size: 4, array: Int32Array },
  uint32: { descr: 'u4', size: 4, array: Uint32Array },
  int64: { descr: 'i8', size: 8, array: BigInt64Array },
  uint64: { descr: 'u8', size: 8, array: BigUint64Array },
} as const;

export type NpDtype = keyof typeof NP_DTYPES;

export interface NpArray {
  dtype: NpDtype;
  shape: number[];
  data: TypedArray;
}

export interface NpyHeader {
  dtype: NpDtype;
  shape: number[];
  /** Bytes before the data: magic, version, length field and the padded dict. */
  headerBytes: number;
  /** Bytes of data that follow the header. */
  dataBytes: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** Enough bytes to know the header length in every format version (v2/v3 use 4 bytes). */
export const NPY_PRELUDE_BYTES = 12;

const byDescr = new Map<string, NpDtype>(Object.entries(NP_DTYPES).map(([name, d]) => [d.descr, name as NpDtype]));

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes of one sample (one index along the first axis). */
export function rowBytes(dtype: NpDtype, shape: readonly number[]): number {
  return NP_DTYPES[dtype].size * elementCount(shape.slice(1));
}

/**
 * Total header length from the first bytes of a file (at least NPY_PRELUDE_BYTES, or all of
 * a shorter file). `label` names the file or array in messages.
 */
export function npyHeaderLength(prefix: Uint8Array, label: string): number {
  if (prefix.length < 10 || MAGIC.some((b, i) => prefix[i] !== b)) throw new InputError(`${label}: not a .npy array (bad magic)`);
  const major = prefix[6];
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (major === 1) return 10 + view.getUint16(8, true);
  if (major === 2 || major === 3) {
    if (prefix.length < 12) throw new InputError(`${label}: truncated .npy header`);
    return 12 + view.getUint32(8, true);
  }
  throw new InputError(`${label}: unsupported .npy format version ${major}.${prefix[7]}`);
}

/** Parses a complete header (`bytes` holds at least npyHeaderLength bytes). */
export function parseNpyHeader(bytes: Uint8Array, label: string): NpyHeader {
  const headerBytes = npyHeaderLength(bytes, label);
  if (bytes.length < headerBytes) throw new InputError(`${label}: truncated .npy header`);
  const start = bytes[6] === 1 ? 10 : 12;
  // v1/v2 headers are latin1, v3 utf8; the fields we accept are plain ASCII either way.
  const dict = Buffer.from(bytes.buffer, bytes.byteOffset + start, headerBytes - start).toString('latin1').trim();
  if (!dict.startsWith('{') || !dict.endsWith('}')) throw new InputError(`${label}: malformed .npy header`);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(dict)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(dict)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr === undefined) throw new InputError(`${label}: unsupported .npy dtype (structured or missing 'descr')`);
  if (fortran === undefined || shapeText === undefined) throw new InputError(`${label}: malformed .npy header`);
  if (fortran === 'True') throw new InputError(`${label}: Fortran-order arrays are not supported; save with np.ascontiguousarray`);
  const dtype = dtypeFromDescr(descr, label);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      if (!/^\d+L?$/.test(s)) throw new InputError(`${label}: malformed .npy shape (${shapeText})`);
      return Number.parseInt(s, 10);
    });
  return { dtype, shape, headerBytes, dataBytes: NP_DTYPES[dtype].size * elementCount(shape) };
}

function dtypeFromDescr(descr: string, label: string): NpDtype {
  const order = descr[0];
  const dtype = byDescr.get(descr.slice(1));
  if (dtype === undefined) throw new InputError(`${label}: unsupported .npy dtype '${descr}'`);
  if (order === '>' && NP_DTYPES[dtype].size > 1) throw new InputError(`${label}: big-endian dtype '${descr}' is not supported; convert with arr.astype('<${descr.slice(1)}')`);
  if (order !== '<' && order !== '|' && order !== '>' && order !== '=') throw new InputError(`${label}: unsupported .npy dtype '${descr}'`);
  return dtype;
}

/** Wraps little-endian bytes as the dtype's TypedArray, copying only if misaligned. */
export function typedFromBytes(dtype: NpDtype, bytes: Uint8Array): TypedArray {
  const { size, array } = NP_DTYPES[dtype];
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return new array(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / size);
}

/** Decodes a whole `.npy` file held in memory. */
export function decodeNpy(bytes: Uint8Array, label: string): NpArray {
  const h = parseNpyHeader(bytes, label);
  if (bytes.length < h.headerBytes + h.dataBytes) {
    throw new InputError(`${label}: truncated .npy data (${bytes.length - h.headerBytes} of ${h.dataBytes} bytes)`);
  }
  const data = typedFromBytes(h.dtype, bytes.subarray(h.headerBytes, h.headerBytes + h.dataBytes));
  return { dtype: h.dtype, shape: h.shape, data };
}

/** Header bytes as np.save writes them: version 1.0 unless the dict needs more room. */
export function encodeNpyHeader(dtype: NpDtype, shape: readonly number[]): Uint8Array {
  const order = NP_DTYPES[dtype].size === 1 ? '|' : '<';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '${order}${NP_DTYPES[dtype].descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  // numpy pads to a multiple of 64 so the data that follows is aligned.
  const padded = (prelude: number) => Math.ceil((prelude + dict.length + 1) / 64) * 64;
  const v1 = padded(10) - 10 <= 0xffff;
  const prelude = v1 ? 10 : 12;
  const total = padded(prelude);
  const out = Buffer.alloc(total, 0x20);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  if (v1) out.writeUInt16LE(total - prelude, 8);
  else out.writeUInt32LE(total - prelude, 8);
  out.write(dict, prelude, 'latin1');
  out[total - 1] = 0x0a;
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Throws unless `arr` is self-consistent; `name` is the array named in the message. */
export function checkNpArray(name: string, arr: NpArray): void {
  const spec = NP_DTYPES[arr.dtype];
  if (spec === undefined) throw new InputError(`array ${name}: unsupported dtype '${String(arr.dtype)}'`);
  if (!(arr.data instanceof spec.array)) throw new InputError(`array ${name}: dtype ${arr.dtype} needs a ${spec.array.name}, got ${arr.data.constructor.name}`);
  if (!arr.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new InputError(`array ${name}: bad shape [${arr.shape.join(',')}]`);
  if (arr.data.length !== elementCount(arr.shape)) {
    throw new InputError(`array ${name}: shape [${arr.shape.join(',')}] needs ${elementCount(arr.shape)} values, data has ${arr.data.length}`);
  }
}

export function dataBytesOf(arr: NpArray): Uint8Array {
  return new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
}

/** A complete `.npy` file. */
export function encodeNpy(arr: NpArray, name = 'array'): Uint8Array {
  checkNpArray(name, arr);
  const header = encodeNpyHeader(arr.dtype, arr.shape);
  const out = new Uint8Array(header.length + arr.data.byteLength);
  out.set(header, 0);
  out.set(dataBytesOf(arr), header.length);
  return out;
}
