/**
 * What a run needs to know about a weight's values — how many are zero, the first value that
 * is not finite, a fingerprint of sampled bytes, and (only when asked) a digest of all of
 * them — found in one streamed read.
 *
 * A weight still in its file, or computed by a producer that streams (pruned weights), is
 * scanned piece by piece through reused buffers (tensor-pieces.ts). Its facts are kept by
 * payload, which is never written in place and is shared by clones, so validation, the
 * report's input and output rows and cleanup's dedupe all read a 1 GiB model once.
 * Payloads already in memory are scanned where they are and not cached (cheap, and a
 * caller's buffer is not ours to vouch for).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { isComputed, isFileSlice, readFully } from '../onnx/chunk.ts';
import { TYPED_ARRAY, type DType, type NumericDType } from '../onnx/dtype.ts';
import { fromHalfBits } from '../math/float16.ts';
import type { Tensor } from './tensor.ts';
import { forEachTensorPiece, streamedChunk, type StreamedChunk } from './tensor-pieces.ts';

export interface TensorFacts {
  /** Elements exactly zero (0 for dtypes without a typed view, e.g. int4, float8). */
  zeros: number;
  /** The first NaN or ±Infinity of a float tensor, if any. */
  nonFinite?: { index: number; value: number };
  /** Hash of the byte length and bytes sampled across the tensor: different fingerprints, different contents. */
  fingerprint: string;
}

const SAMPLES = 64;
/** Divides PIECE, so no sample straddles two pieces. */
const SAMPLE_BYTES = 16;

/** Kept by payload: a file slice or a streaming producer (never written in place, shared by clones). */
const factsByChunk = new WeakMap<StreamedChunk, TensorFacts>();
const digestByChunk = new WeakMap<StreamedChunk, string>();

/** The facts of `t`'s values: read once per file-backed or streamed payload, kept for the run. */
export function tensorFacts(t: Tensor): TensorFacts {
  const p = t.payload;
  if (p.kind === 'strings') return { zeros: 0, fingerprint: '' };
  const chunk = streamedChunk(t);
  const known = chunk && factsByChunk.get(chunk);
  if (known) return known;
  const scan = new FactScan(t.dtype, t.byteLength);
  forEachTensorPiece(t, (piece, at) => scan.add(piece, at));
  const facts = scan.result();
  if (chunk) factsByChunk.set(chunk, facts);
  return facts;
}

/** Elements exactly zero: what the producer of a computed payload knows, else the facts'. */
export function zeroCount(t: Tensor): number {
  const p = t.payload;
  if (p.kind === 'raw' && isComputed(p.chunk) && p.chunk.zeros !== undefined) return p.chunk.zeros;
  return tensorFacts(t).zeros;
}

/**
 * The fingerprint alone: the kept facts' when known, else read from the sampled places only
 * (a few hundred bytes per tensor, e.g. to check a freshly written file).
 */
export function tensorFingerprint(t: Tensor): string {
  const p = t.payload;
  if (p.kind !== 'raw' || !isFileSlice(p.chunk)) return tensorFacts(t).fingerprint;
  const known = factsByChunk.get(p.chunk);
  if (known) return known.fingerprint;
  const slice = p.chunk;
  const hash = fingerprintHash(t.dtype, slice.length);
  const sample = new Uint8Array(SAMPLE_BYTES);
  const fd = openSync(slice.path, 'r');
  try {
    for (const at of samplePlaces(slice.length)) {
      const piece = sample.subarray(0, Math.min(SAMPLE_BYTES, slice.length - at));
      readFully(fd, piece, slice.offset + at);
      hash.update(piece);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

const fingerprintHash = (dtype: DType, length: number): Hash => createHash('sha256').update(`${dtype}:${length}:`);

/** Where the fingerprint samples bytes: SAMPLES places spread evenly, aligned to SAMPLE_BYTES. */
function samplePlaces(length: number): number[] {
  const step = Math.max(0, length - SAMPLE_BYTES) / (SAMPLES - 1);
  return [...new Set(Array.from({ length: SAMPLES }, (_, i) => Math.floor((i * step) / SAMPLE_BYTES) * SAMPLE_BYTES))];
}

/** SHA-256 of all of `t`'s bytes (for telling apart tensors whose fingerprints agree); kept like the facts. */
export function tensorDigest(t: Tensor): string {
  const chunk = streamedChunk(t);
  const known = chunk && digestByChunk.get(chunk);
  if (known) return known;
  const hash = createHash('sha256');
  forEachTensorPiece(t, (piece) => hash.update(piece));
  const digest = hash.digest('hex');
  if (chunk) digestByChunk.set(chunk, digest);
  return digest;
}

/** Accumulates facts over consecutive pieces of one tensor's raw bytes. */
class FactScan {
  private zeros = 0;
  private nonFinite?: { index: number; value: number };
  private readonly samples: Hash;
  private readonly sampleAt: number[];
  private readonly ctor?: (typeof TYPED_ARRAY)[NumericDType];

  constructor(
    private readonly dtype: DType,
    length: number,
  ) {
    this.ctor = TYPED_ARRAY[dtype as NumericDType];
    this.samples = fingerprintHash(dtype, length);
    this.sampleAt = samplePlaces(length);
  }

  add(piece: Uint8Array, at: number): void {
    for (const s of this.sampleAt) {
      if (s >= at && s < at + piece.length) this.samples.update(piece.subarray(s - at, s - at + SAMPLE_BYTES));
    }
    if (!this.ctor) return;
    const bytes = piece.byteOffset % this.ctor.BYTES_PER_ELEMENT === 0 ? piece : piece.slice();
    const values = new this.ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / this.ctor.BYTES_PER_ELEMENT);
    const first = at / this.ctor.BYTES_PER_ELEMENT;
    if (values instanceof Float32Array || values instanceof Float64Array) this.addFloats(values, first);
    else if (values instanceof Uint16Array && (this.dtype === 'float16' || this.dtype === 'bfloat16')) this.addHalves(values, first);
    else this.addIntegers(values);
  }

  private addFloats(v: Float32Array | Float64Array, first: number): void {
    let z = 0;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x === 0) z++;
      else if (x - x !== 0 && !this.nonFinite) this.nonFinite = { index: first + i, value: x };
    }
    this.zeros += z;
  }

  /** float16 and bfloat16 as raw bits: zero is +0 only (as the typed view compares), non-finite an all-ones exponent. */
  private addHalves(v: Uint16Array, first: number): void {
    const exponent = this.dtype === 'float16' ? 0x7c00 : 0x7f80;
    let z = 0;
    for (let i = 0; i < v.length; i++) {
      const h = v[i]!;
      if (h === 0) z++;
      else if ((h & exponent) === exponent && !this.nonFinite) this.nonFinite = { index: first + i, value: this.halfValue(h) };
    }
    this.zeros += z;
  }

  private halfValue(h: number): number {
    if (this.dtype === 'float16') return fromHalfBits(h);
    return (h & 0x7f) !== 0 ? NaN : h & 0x8000 ? -Infinity : Infinity;
  }

  private addIntegers(v: ArrayLike<number | bigint>): void {
    if (v instanceof Int8Array || v instanceof Uint8Array) {
      this.zeros += zeroBytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      return;
    }
    let z = 0;
    for (let i = 0; i < v.length; i++) if (v[i] == 0) z++; // == so 0n counts
    this.zeros += z;
  }

  result(): TensorFacts {
    return { zeros: this.zeros, ...(this.nonFinite && { nonFinite: this.nonFinite }), fingerprint: this.samples.digest('hex') };
  }
}

/**
 * Zero bytes, four at a time (int8 codes of a quantized 1 GiB model: 256 MiB counted ~3×
 * faster than byte by byte): in each word, exactly the zero bytes get their high bit set.
 */
function zeroBytes(b: Uint8Array): number {
  const head = (4 - (b.byteOffset % 4)) % 4;
  const words = b.length >= head ? new Uint32Array(b.buffer, b.byteOffset + head, (b.length - head) >>> 2) : new Uint32Array(0);
  let z = 0;
  for (let i = 0; i < words.length; i++) {
    const x = words[i]!;
    const high = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f);
    z += Math.imul(high >>> 7, 0x01010101) >>> 24;
  }
  for (let i = 0; i < Math.min(head, b.length); i++) z += (b[i] === 0) as unknown as number;
  for (let i = head + words.length * 4; i < b.length; i++) z += (b[i] === 0) as unknown as number;
  return z;
}
