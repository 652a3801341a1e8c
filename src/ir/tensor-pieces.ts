/**
 * A tensor's raw bytes, piece by piece, without holding them whole: a payload still in its
 * file is read through reused buffers, one computed on the fly streams itself, one in memory
 * is handed over where it is. On these VMs the first touch of fresh memory costs 3–8 s per
 * GiB while reading into a reused buffer costs ~0.4 s, so every full scan of a large weight
 * (facts, pruning thresholds, writing) goes through here.
 */
import { closeSync, openSync } from 'node:fs';
import { isComputed, isFileSlice, readFully, type Chunk, type ComputedChunk, type FileSlice } from '../onnx/chunk.ts';
import type { Tensor } from './tensor.ts';

/** Bytes per piece: a multiple of every element size, so no element straddles two pieces. */
export const PIECE = 8 * 2 ** 20;

const spare: Uint8Array[] = [];

/** Runs `fn` with a PIECE-sized buffer nobody else uses meanwhile (kept for later calls: nested scans each get their own). */
export function withScratch<T>(fn: (buffer: Uint8Array) => T): T {
  const buffer = spare.pop() ?? new Uint8Array(PIECE);
  try {
    return fn(buffer);
  } finally {
    spare.push(buffer);
  }
}

/** A chunk that can be scanned piece by piece without reading it whole. */
export type StreamedChunk = FileSlice | (ComputedChunk & Required<Pick<ComputedChunk, 'stream'>>);

/** The tensor's chunk when it is file-backed or streams itself; undefined when its bytes are (or must be made) in memory. */
export function streamedChunk(t: Tensor): StreamedChunk | undefined {
  const p = t.payload;
  if (p.kind !== 'raw') return undefined;
  if (isFileSlice(p.chunk)) return p.chunk;
  return isComputed(p.chunk) && p.chunk.stream ? (p.chunk as StreamedChunk) : undefined;
}

/**
 * Streams a chunk's bytes in order, in pieces of at most PIECE bytes (streaming producers
 * keep to that too); `piece` is valid only during the call and must not be written to.
 */
export function forEachPiece(chunk: Chunk, fn: (piece: Uint8Array, at: number) => void): void {
  if (chunk instanceof Uint8Array) return inPieces(chunk, fn);
  if (isComputed(chunk)) return chunk.stream ? chunk.stream(fn) : inPieces(chunk.read(), fn);
  withScratch((scratch) => {
    const fd = openSync(chunk.path, 'r');
    try {
      for (let at = 0; at < chunk.length; at += PIECE) {
        const piece = scratch.subarray(0, Math.min(PIECE, chunk.length - at));
        readFully(fd, piece, chunk.offset + at);
        fn(piece, at);
      }
    } finally {
      closeSync(fd);
    }
  });
}

/** A tensor's raw bytes (raw_data layout) piece by piece; typed fields are decoded whole first. */
export function forEachTensorPiece(t: Tensor, fn: (piece: Uint8Array, at: number) => void): void {
  const p = t.payload;
  if (p.kind === 'raw') forEachPiece(p.chunk, fn);
  else inPieces(t.bytes(), fn);
}

/**
 * `t`'s values as float32 into `into` (of its size): a file slice read straight into it, other
 * float32 payloads piece by piece, other dtypes converted whole.
 */
export function readFloat32Into(t: Tensor, into: Float32Array): void {
  if (t.dtype !== 'float32') return into.set(t.toFloat32());
  const bytes = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
  const p = t.payload;
  if (p.kind === 'raw' && isFileSlice(p.chunk)) return readFileSlice(p.chunk, bytes);
  forEachTensorPiece(t, (piece, at) => bytes.set(piece, at));
}

function readFileSlice(chunk: FileSlice, into: Uint8Array): void {
  const fd = openSync(chunk.path, 'r');
  try {
    readFully(fd, into, chunk.offset);
  } finally {
    closeSync(fd);
  }
}

function inPieces(bytes: Uint8Array, fn: (piece: Uint8Array, at: number) => void): void {
  for (let at = 0; at < bytes.byteLength; at += PIECE) fn(bytes.subarray(at, at + PIECE), at);
}
