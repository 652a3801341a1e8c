/**
 * The two ways a block-quantized weight is stored in a model, as plain arrays:
 *
 * - `DequantizeLinear` (opset 21, blocked): an INT4/UINT4 tensor in the weight's own shape,
 *   `axis` = the K axis, `block_size`, scale (and zero point) with the K axis divided into
 *   blocks. A MatMul weight [K, N] gives axis 0 and scale [blocks, N]; a Gemm weight with
 *   transB = 1 is [N, K] and gives axis 1 and scale [N, blocks].
 * - `com.microsoft::MatMulNBits`: B uint8 [N, blocks, blockSize / 2], each column's K codes
 *   packed two per byte low nibble first, the last block padded with the zero point; scales
 *   [N, blocks]; zero points uint8 [N, ceil(blocks / 2)], packed the same way per row, and
 *   omitted for symmetric weights (the op's default zero point is 8: codes are stored + 8).
 */
import { transpose } from '../../math/arrays.ts';
import { blockCount, type BlockQuantized } from './block.ts';
import { packNibbles } from './pack4.ts';

export interface DqLayout {
  /** Packed int4/uint4 codes in the shape `dims`. */
  codes: Uint8Array;
  dims: [number, number];
  dtype: 'int4' | 'uint4';
  axis: 0 | 1;
  scales: Float32Array;
  scaleDims: [number, number];
  /** Packed uint4 zero points in `scaleDims` (asymmetric only). */
  zeroPoints?: Uint8Array;
}

/** `DequantizeLinear` tensors for a weight stored [K, N] (`kAxis` 0) or [N, K] (`kAxis` 1). */
export function dqLayout(q: BlockQuantized, kAxis: 0 | 1): DqLayout {
  const { K, N } = q;
  const nb = blockCount(K, q.blockSize);
  const dtype = q.scheme === 'symmetric' ? 'int4' : 'uint4';
  if (kAxis === 0) {
    return {
      codes: packNibbles(q.codes),
      dims: [K, N],
      dtype,
      axis: 0,
      scales: q.scales,
      scaleDims: [nb, N],
      ...(q.zeroPoints ? { zeroPoints: packNibbles(q.zeroPoints) } : {}),
    };
  }
  return {
    codes: packNibbles(transpose(q.codes, K, N)),
    dims: [N, K],
    dtype,
    axis: 1,
    scales: transpose(q.scales, nb, N),
    scaleDims: [N, nb],
    ...(q.zeroPoints ? { zeroPoints: packNibbles(transpose(q.zeroPoints, nb, N)) } : {}),
  };
}

export interface NBitsLayout {
  /** uint8 [N, blocks, blockSize / 2]. */
  b: Uint8Array;
  bDims: [number, number, number];
  /** float32 [N, blocks]. */
  scales: Float32Array;
  scaleDims: [number, number];
  /** uint8 [N, ceil(blocks / 2)] (asymmetric only). */
  zeroPoints?: Uint8Array;
  zeroPointDims?: [number, number];
}

/** `MatMulNBits` (bits = 4) tensors. */
export function nbitsLayout(q: BlockQuantized): NBitsLayout {
  const { K, N, blockSize } = q;
  const nb = blockCount(K, blockSize);
  const blob = blockSize / 2;
  const shift = q.scheme === 'symmetric' ? 8 : 0;
  const b = new Uint8Array(N * nb * blob);
  const column = new Uint8Array(nb * blockSize);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < nb * blockSize; k++) {
      // Padding past K dequantizes to 0: the zero point itself.
      column[k] = k < K ? q.codes[k * N + n]! + shift : (q.zeroPoints?.[Math.floor(k / blockSize) * N + n] ?? 8);
    }
    b.set(packNibbles(column), n * nb * blob);
  }
  const out: NBitsLayout = { b, bDims: [N, nb, blob], scales: transpose(q.scales, nb, N), scaleDims: [N, nb] };
  if (q.zeroPoints) {
    const perRow = Math.ceil(nb / 2);
    const zp = new Uint8Array(N * perRow);
    const t = transpose(q.zeroPoints, nb, N);
    for (let n = 0; n < N; n++) zp.set(packNibbles(t.subarray(n * nb, (n + 1) * nb)), n * perRow);
    out.zeroPoints = zp;
    out.zeroPointDims = [N, perRow];
  }
  return out;
}
