/**
 * Where a model's protobuf bytes come from. A `FileSource` reads through a sliding window
 * so that a multi-gigabyte model is parsed without being loaded: only small fields are
 * copied out, large byte fields become `FileSlice`s pointing back into the file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Chunk } from './chunk.ts';

/** Byte fields at least this long stay in the file instead of being copied. */
export const LAZY_THRESHOLD = 64 * 1024;
const WINDOW = 4 * 1024 * 1024;

export interface ByteSource {
  readonly size: number;
  byte(pos: number): number;
  /** An owned copy (or a stable view) of a short range. */
  bytes(pos: number, length: number): Uint8Array;
  /** A range that may stay lazy. */
  chunk(pos: number, length: number): Chunk;
  close(): void;
}

export class MemorySource implements ByteSource {
  readonly size: number;
  constructor(private readonly buf: Uint8Array) {
    this.size = buf.byteLength;
  }
  byte(pos: number): number {
    return this.buf[pos];
  }
  bytes(pos: number, length: number): Uint8Array {
    return this.buf.subarray(pos, pos + length);
  }
  chunk(pos: number, length: number): Chunk {
    return this.buf.subarray(pos, pos + length);
  }
  close(): void {}
}

export class FileSource implements ByteSource {
  readonly size: number;
  private readonly fd: number;
  private window = new Uint8Array(0);
  private windowStart = 0;
  private windowFilled = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }

  private load(pos: number, length: number): void {
    const want = Math.min(Math.max(WINDOW, length), this.size - pos);
    if (this.window.byteLength < want) this.window = new Uint8Array(Math.max(WINDOW, want));
    let done = 0;
    while (done < want) {
      const n = readSync(this.fd, this.window, done, want - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    this.windowStart = pos;
    this.windowFilled = done;
  }

  private ensure(pos: number, length: number): number {
    const rel = pos - this.windowStart;
    if (rel < 0 || rel + length > this.windowFilled) this.load(pos, length);
    return pos - this.windowStart;
  }

  byte(pos: number): number {
    const rel = this.ensure(pos, 1); // before reading `this.window`: ensure may replace it
    return this.window[rel];
  }
  bytes(pos: number, length: number): Uint8Array {
    const rel = this.ensure(pos, length);
    return this.window.slice(rel, rel + length);
  }
  chunk(pos: number, length: number): Chunk {
    return length >= LAZY_THRESHOLD ? { path: this.path, offset: pos, length } : this.bytes(pos, length);
  }
  close(): void {
    closeSync(this.fd);
  }
}
