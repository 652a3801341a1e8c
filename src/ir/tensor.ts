/**
 * A tensor in the IR: dtype, dims and a payload that is decoded only when asked for.
 * The payload stays what the file had (raw_data view, packed typed field, external-data
 * slice) until a pass replaces it, so untouched weights are written back without a copy.
 */
import { chunkLength, isComputed, readChunk, type Chunk } from '../onnx/chunk.ts';
import { DTYPES, TYPED_ARRAY, dtypeOfTypedArray, rawByteLength, type DType, type DataField, type NumericDType, type TypedArray } from '../onnx/dtype.ts';
import type { ProtoMessage } from '../onnx/codec.ts';
import { fromHalfBits } from '../math/float16.ts';
import { MemorySource } from '../onnx/source.ts';
import { Reader } from '../onnx/wire.ts';
import { zeroCount } from './tensor-facts.ts';

export type TensorPayload =
  | { readonly kind: 'raw'; readonly chunk: Chunk }
  | { readonly kind: 'field'; readonly field: Exclude<DataField, 'string_data'>; readonly chunk: Chunk }
  | { readonly kind: 'strings'; readonly values: readonly Chunk[] };

/** Where a tensor's bytes lived in an external data file, and the entries to keep (e.g. checksum). */
export interface ExternalOrigin {
  readonly location: string;
  readonly extraEntries: readonly ProtoMessage[];
}

export class Tensor {
  /** Fields of the TensorProto the IR does not manage (doc_string, metadata, unknown ones, order). */
  proto: ProtoMessage;
  external?: ExternalOrigin;

  constructor(
    public name: string,
    public dtype: DType,
    public dims: number[],
    public payload: TensorPayload,
    proto: ProtoMessage = {},
  ) {
    this.proto = proto;
  }

  static fromTyped(name: string, data: TypedArray, dims: readonly number[]): Tensor {
    const t = new Tensor(name, dtypeOfTypedArray(data), [...dims], { kind: 'raw', chunk: new Uint8Array(0) });
    t.setTyped(data, dims);
    return t;
  }

  /**
   * A new tensor sharing this one's payload. Payloads are never written in place (writers
   * replace them with `setTyped`/`setRaw`), so the two stay independent: copy-on-write.
   */
  clone(): Tensor {
    const t = new Tensor(this.name, this.dtype, [...this.dims], this.payload, this.proto);
    t.external = this.external;
    return t;
  }

  get size(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  /** Bytes the values take in raw_data form. */
  get byteLength(): number {
    return this.payload.kind === 'raw' ? chunkLength(this.payload.chunk) : rawByteLength(this.dtype, this.size);
  }

  /** True while the payload has not been read into memory (still in a file, or still to be computed). */
  get isLazy(): boolean {
    return this.payload.kind !== 'strings' && !(this.payload.chunk instanceof Uint8Array);
  }

  /** True while the values are still to be computed (a `ComputedChunk`, e.g. deferred quantized weights). */
  get isDeferred(): boolean {
    return this.payload.kind === 'raw' && isComputed(this.payload.chunk);
  }

  /** The values as little-endian raw bytes (what raw_data would hold). */
  bytes(): Uint8Array {
    const p = this.payload;
    if (p.kind === 'raw') return readChunk(p.chunk);
    if (p.kind === 'strings') throw new TypeError(`tensor '${this.name}' holds strings, not numbers`);
    return fieldToRaw(this.dtype, p.field, readChunk(p.chunk), this.size);
  }

  /** The values in their native TypedArray (aligned; a copy only when the source is unaligned). */
  typed(): TypedArray {
    const Ctor = TYPED_ARRAY[this.dtype as NumericDType];
    if (!Ctor) throw new TypeError(`tensor '${this.name}' has dtype ${this.dtype}, which has no typed view`);
    let b = this.bytes();
    if (b.byteOffset % Ctor.BYTES_PER_ELEMENT !== 0) b = b.slice();
    return new Ctor(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength / Ctor.BYTES_PER_ELEMENT);
  }

  /** Values converted to float32 (for math on weights of any numeric dtype). */
  toFloat32(): Float32Array {
    const t = this.typed();
    if (t instanceof Float32Array) return t;
    if (this.dtype === 'float16') return Float32Array.from(t as Uint16Array, fromHalfBits);
    if (this.dtype === 'bfloat16') return Float32Array.from(t as Uint16Array, (h) => bfloat16ToFloat(h));
    const out = new Float32Array(t.length);
    for (let i = 0; i < t.length; i++) out[i] = Number(t[i]);
    return out;
  }

  /** Elements exactly zero (0 for dtypes without a typed view, e.g. int4, float8, strings); a file-backed payload is read once per run. */
  zeroCount(): number {
    return zeroCount(this);
  }

  setTyped(data: TypedArray, dims: readonly number[] = this.dims): void {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new RangeError(`tensor '${this.name}': ${data.length} values do not fill shape [${dims.join(',')}]`);
    }
    this.dtype = dtypeOfTypedArray(data);
    this.dims = [...dims];
    this.payload = { kind: 'raw', chunk: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    this.external = undefined;
  }

  /** Raw bytes for a dtype without a TypedArray (int4, float8 …). */
  setRaw(dtype: DType, dims: readonly number[], bytes: Uint8Array): void {
    this.dtype = dtype;
    this.dims = [...dims];
    this.payload = { kind: 'raw', chunk: bytes };
    this.external = undefined;
  }
}

/** Decodes a packed typed field (float_data, int32_data …) into raw_data layout. */
export function fieldToRaw(dtype: DType, field: Exclude<DataField, 'string_data'>, packed: Uint8Array, count: number): Uint8Array {
  if (field === 'float_data' || field === 'double_data') return packed;
  const values = decodeVarints(packed);
  const out = new Uint8Array(rawByteLength(dtype, count));
  const view = new DataView(out.buffer);
  const bits = DTYPES[dtype].bits;
  values.forEach((v, i) => {
    if (bits === 64) view.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(v)), true);
    else if (bits === 32) view.setUint32(i * 4, Number(BigInt.asUintN(32, BigInt(v))), true);
    else if (bits === 16) view.setUint16(i * 2, Number(v) & 0xffff, true);
    else out[i] = Number(v) & 0xff; // 8-bit values, or 4-bit pairs already packed one byte per entry
  });
  return out;
}

function decodeVarints(packed: Uint8Array): Array<number | bigint> {
  const r = new Reader(new MemorySource(packed), 0, packed.byteLength);
  const out: Array<number | bigint> = [];
  while (!r.done()) out.push(r.varint());
  return out;
}


function bfloat16ToFloat(h: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setUint32(0, h << 16);
  return b.getFloat32(0);
}
