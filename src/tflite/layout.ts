/**
 * Layout: TFLite convolutions are channels-last. A 4-D ONNX value [N,C,H,W] that lives in
 * NHWC is stored as [N,H,W,C]; a flattened NHWC value keeps (h,w,c) column order until a
 * consumer with constant weights absorbs the permutation. Weights are permuted offline.
 */
import { transpose } from '../math/arrays.ts';

export type Layout =
  | { readonly kind: 'plain' }
  | { readonly kind: 'nhwc' }
  /** A 2-D [N, C·H·W] value whose columns are in (h, w, c) order. */
  | { readonly kind: 'hwc'; readonly c: number; readonly h: number; readonly w: number };

export const PLAIN: Layout = { kind: 'plain' };
export const NHWC: Layout = { kind: 'nhwc' };

/** NCHW → NHWC as a TRANSPOSE perm, and back. */
export const TO_NHWC = [0, 2, 3, 1];
export const TO_NCHW = [0, 3, 1, 2];
/** Where ONNX axis a of a rank-4 NCHW value sits in NHWC. */
export const NHWC_AXIS = [0, 3, 1, 2];

/** The stored (TFLite) shape of an ONNX-shaped value in a layout. */
export function storedShape(shape: readonly number[], layout: Layout): number[] {
  if (layout.kind === 'nhwc') return TO_NHWC.map((a) => shape[a]!);
  return [...shape];
}

/** Row-major transpose of `data` with `dims` by `perm` (out dim i = in dim perm[i]). */
export function transposeData<T extends Float32Array | Int8Array | Int32Array>(data: T, dims: readonly number[], perm: readonly number[]): T {
  const rank = dims.length;
  // A matrix (every FULLY_CONNECTED weight of a MatMul): a plain double loop, twice as fast as the general index walk on a 4096×4096 weight.
  if (rank === 2 && perm[0] === 1) return transpose(data, dims[0]!, dims[1]!);
  const outDims = perm.map((p) => dims[p]!);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * dims[i + 1]!;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i]! * inStrides[perm[i]!]!;
    out[o] = data[src]!;
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < outDims[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** Right-aligns a broadcast operand's dims to `rank` with leading ones (numpy rules). */
export function padRank(dims: readonly number[], rank: number): number[] {
  return [...new Array<number>(Math.max(0, rank - dims.length)).fill(1), ...dims];
}

/** OIHW conv weights → OHWI (CONV_2D). */
export const CONV_WEIGHT_PERM = [0, 2, 3, 1];
/** Depthwise weights [C·M, 1, H, W] → [1, H, W, C·M] (DEPTHWISE_CONV_2D). */
export const DEPTHWISE_WEIGHT_PERM = [1, 2, 3, 0];
/** ConvTranspose weights [I, O, H, W] → [O, H, W, I] (TRANSPOSE_CONV). */
export const DECONV_WEIGHT_PERM = [1, 2, 3, 0];

/**
 * The row permutation a [C·H·W, N] weight (K rows in (c,h,w) order) needs to read a value
 * whose columns are in (h,w,c) order: new row r (h,w,c) takes old row (c,h,w).
 */
export function hwcRowOrder(c: number, h: number, w: number): number[] {
  const order: number[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) order.push(k * h * w + y * w + x);
  return order;
}
