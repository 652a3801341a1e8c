/**
 * Streams encoded parts to a file: small encoded pieces are written as they are, large
 * chunks still in their source file are copied through one reusable buffer. Files are
 * written under a temporary name and renamed into place, so a failure never leaves a
 * half-written output behind.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { chunkLength, isFileSlice, readFully, type Chunk } from '../onnx/chunk.ts';

const COPY_BUFFER = 16 * 1024 * 1024;

export type Progress = (done: number, total: number) => void;

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}

/** Writes parts in order to `fd`; `gaps` (zero padding) may be requested between them via `null`-free offsets. */
export function writeParts(fd: number, parts: readonly Chunk[], onProgress?: Progress): number {
  const total = parts.reduce((n, p) => n + chunkLength(p), 0);
  const sources = new Map<string, number>();
  let buffer: Uint8Array | undefined;
  let done = 0;
  try {
    for (const part of parts) {
      if (!isFileSlice(part)) {
        writeAll(fd, part);
        done += part.byteLength;
      } else {
        let src = sources.get(part.path);
        if (src === undefined) sources.set(part.path, (src = openSync(part.path, 'r')));
        buffer ??= new Uint8Array(Math.min(COPY_BUFFER, Math.max(part.length, 1)));
        if (buffer.byteLength < Math.min(COPY_BUFFER, part.length)) buffer = new Uint8Array(Math.min(COPY_BUFFER, part.length));
        for (let off = 0; off < part.length; off += buffer.byteLength) {
          const piece = buffer.subarray(0, Math.min(buffer.byteLength, part.length - off));
          readFully(src, piece, part.offset + off);
          writeAll(fd, piece);
        }
        done += part.length;
      }
      onProgress?.(done, total);
    }
  } finally {
    for (const src of sources.values()) closeSync(src);
  }
  return done;
}

/** A file written under a temporary name in the target directory, moved into place on commit. */
export class AtomicFile {
  readonly tempPath: string;
  readonly fd: number;
  private closed = false;

  constructor(readonly path: string) {
    this.tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    this.fd = openSync(this.tempPath, 'wx');
  }

  /** Flushes to disk and closes; `rename` moves it into place. */
  finish(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
  }

  rename(): void {
    renameSync(this.tempPath, this.path);
  }

  discard(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
    rmSync(this.tempPath, { force: true });
  }
}
