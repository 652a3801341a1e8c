/**
 * ONNX element types (TensorProto.DataType), including the ones newer than the bundled
 * onnx-proto schema (FLOAT8 17–20, UINT4/INT4 21–22, FLOAT4E2M1 23). `bits` is the packed
 * width in raw_data; sub-byte types pack two values per byte.
 */
export const DTYPES = {
  float32: { code: 1, bits: 32, field: 'float_data' },
  uint8: { code: 2, bits: 8, field: 'int32_data' },
  int8: { code: 3, bits: 8, field: 'int32_data' },
  uint16: { code: 4, bits: 16, field: 'int32_data' },
  int16: { code: 5, bits: 16, field: 'int32_data' },
  int32: { code: 6, bits: 32, field: 'int32_data' },
  int64: { code: 7, bits: 64, field: 'int64_data' },
  string: { code: 8, bits: 0, field: 'string_data' },
  bool: { code: 9, bits: 8, field: 'int32_data' },
  float16: { code: 10, bits: 16, field: 'int32_data' },
  float64: { code: 11, bits: 64, field: 'double_data' },
  uint32: { code: 12, bits: 32, field: 'uint64_data' },
  uint64: { code: 13, bits: 64, field: 'uint64_data' },
  complex64: { code: 14, bits: 64, field: 'float_data' },
  complex128: { code: 15, bits: 128, field: 'double_data' },
  bfloat16: { code: 16, bits: 16, field: 'int32_data' },
  float8e4m3fn: { code: 17, bits: 8, field: 'int32_data' },
  float8e4m3fnuz: { code: 18, bits: 8, field: 'int32_data' },
  float8e5m2: { code: 19, bits: 8, field: 'int32_data' },
  float8e5m2fnuz: { code: 20, bits: 8, field: 'int32_data' },
  uint4: { code: 21, bits: 4, field: 'int32_data' },
  int4: { code: 22, bits: 4, field: 'int32_data' },
  float4e2m1: { code: 23, bits: 4, field: 'int32_data' },
} as const;

export type DType = keyof typeof DTYPES;
export type DataField = (typeof DTYPES)[DType]['field'];

const byCode = new Map<number, DType>(Object.entries(DTYPES).map(([name, d]) => [d.code, name as DType]));

export function dtypeFromCode(code: number): DType | undefined {
  return byCode.get(code);
}

export function dtypeCode(dtype: DType): number {
  return DTYPES[dtype].code;
}

/** Bytes taken by `count` elements in raw_data (sub-byte types round up). */
export function rawByteLength(dtype: DType, count: number): number {
  return Math.ceil((count * DTYPES[dtype].bits) / 8);
}

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** The TypedArray that holds each dtype's values natively (16-bit floats as raw bits). */
export const TYPED_ARRAY = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
} as const;

export type NumericDType = keyof typeof TYPED_ARRAY;

export function isFloatDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

export function dtypeOfTypedArray(a: TypedArray): NumericDType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint32Array) return 'uint32';
  if (a instanceof BigInt64Array) return 'int64';
  return 'uint64';
}
