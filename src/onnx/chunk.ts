/**
 * Bytes that may live in memory or still sit in a file. Large tensor payloads are never
 * copied while only the graph changes: they stay `FileSlice`s (or views into the input
 * buffer) from load to save, and are read only when a pass asks for their values.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface FileSlice {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

export type Chunk = Uint8Array | FileSlice;

export function isFileSlice(chunk: Chunk | unknown): chunk is FileSlice {
  return typeof chunk === 'object' && chunk !== null && !(chunk instanceof Uint8Array) && 'path' in chunk;
}

export function chunkLength(chunk: Chunk): number {
  return isFileSlice(chunk) ? chunk.length : chunk.byteLength;
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
  if (!isFileSlice(chunk)) return chunk;
  const out = new Uint8Array(chunk.length);
  const fd = openSync(chunk.path, 'r');
  try {
    readFully(fd, out, chunk.offset);
  } finally {
    closeSync(fd);
  }
  return out;
}
