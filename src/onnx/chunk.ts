/**
 * Bytes that may live in memory, still sit in a file, or not exist yet. Large tensor payloads
 * are never copied while only the graph changes: they stay `FileSlice`s (or views into the
 * input buffer) from load to save, and are read only when a pass asks for their values.
 * Payloads a pass derives from such data (quantized weights) can stay `ComputedChunk`s until
 * saved, so that computing them overlaps with writing the file.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface FileSlice {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

/** Where a computed chunk may write itself. */
export interface WriteTarget {
  readonly fd: number;
  readonly path: string;
  readonly position: number;
}

/** Bytes of a known length computed on demand. */
export interface ComputedChunk {
  readonly length: number;
  /** The bytes, computed on this thread (the producer may keep them for later calls). */
  read(): Uint8Array;
  /**
   * Computes the bytes, possibly on another thread, and resolves to them. Given `into` (a
   * writer that goes on meanwhile), it may instead write them there itself and resolve to
   * undefined: at `position` through `fd`, or through its own descriptor on `path` (the file
   * `fd` writes); the writer waits for all of these before it closes the file.
   */
  produce(into?: WriteTarget): Promise<Uint8Array | undefined>;
  /**
   * The bytes in order, piece by piece through a reused buffer (`piece` is valid only during
   * the call), for producers that can compute them so: readers then never hold them whole.
   */
  stream?(fn: (piece: Uint8Array, at: number) => void): void;
  /** Elements exactly zero, when the producer knows it without computing the bytes. */
  readonly zeros?: number;
}

export type Chunk = Uint8Array | FileSlice | ComputedChunk;

export function isFileSlice(chunk: Chunk | unknown): chunk is FileSlice {
  return typeof chunk === 'object' && chunk !== null && !(chunk instanceof Uint8Array) && 'path' in chunk;
}

export function isComputed(chunk: Chunk | unknown): chunk is ComputedChunk {
  return typeof chunk === 'object' && chunk !== null && !(chunk instanceof Uint8Array) && 'produce' in chunk;
}

export function chunkLength(chunk: Chunk): number {
  return chunk instanceof Uint8Array ? chunk.byteLength : chunk.length;
}

/** Reads `length` bytes at `offset` fully (readSync may return short counts). */
export function readFully(fd: number, target: Uint8Array, offset: number): void {
  let done = 0;
  while (done < target.byteLength) {
    const n = readSync(fd, target, done, target.byteLength - done, offset + done);
    if (n === 0) throw new RangeError(`unexpected end of file at byte ${offset + done}`);
    done += n;
  }
}

/** The bytes of a chunk, reading a file slice into a fresh (aligned) buffer. */
export function readChunk(chunk: Chunk): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (isComputed(chunk)) return chunk.read();
  const out = new Uint8Array(chunk.length);
  const fd = openSync(chunk.path, 'r');
  try {
    readFully(fd, out, chunk.offset);
  } finally {
    closeSync(fd);
  }
  return out;
}
