/**
 * Streams encoded parts to a file: small encoded pieces are written as they are, large
 * chunks still in their source file are copied through one reusable buffer, and computed
 * chunks are computed meanwhile (on worker threads, which may write them in place). Files
 * are written under a temporary name and renamed into place, so a failure never leaves a
 * half-written output behind.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, fsyncSync, openSync, renameSync, rmSync, write, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.ts';
import { trackPending, untrackPending } from './pending.ts';
import { chunkLength, isComputed, isFileSlice, readFully, type Chunk } from '../onnx/chunk.ts';

/** 4 MB: stays cache-resident between read and write; 16 MB measured ~15% slower on a 1 GB copy. */
const COPY_BUFFER = 4 * 1024 * 1024;
/** How much is written between background writebacks (see `AtomicFile.writeback`). */
const WRITEBACK_EVERY = 64 * 1024 * 1024;

/**
 * The copy loop is synchronous; every this many bytes it lets the event loop run, so a
 * SIGINT/SIGTERM handler (which removes the temp files) runs within a few tens of ms, not
 * after a gigabyte has been copied.
 */
const YIELD_EVERY = 16 * 1024 * 1024;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export type Progress = (done: number, total: number) => void;

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
}

/**
 * `writeAll` on libuv's thread pool, for bytes computed while writing goes on: a write can
 * wait tens of ms behind the workers' (same file), and the event loop must stay free to hand
 * them their next part meanwhile.
 */
async function writeAllAsync(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) {
    done += await new Promise<number>((resolve, reject) => write(fd, bytes, done, bytes.byteLength - done, position + done, (err, n) => (err ? reject(err) : resolve(n))));
  }
}

/**
 * Writes parts in order to `file` (each at its own offset), with background writeback as it
 * goes. Computed parts are computed meanwhile (possibly on worker threads, which may write
 * them themselves); all of them are awaited, even after a failure, so nothing writes to the
 * file once this returns or throws.
 */
export async function writeParts(file: AtomicFile, parts: readonly Chunk[], onProgress?: Progress): Promise<number> {
  const fd = file.fd;
  const total = parts.reduce((n, p) => n + chunkLength(p), 0);
  const sources = new Map<string, number>();
  const computing: Array<Promise<void>> = [];
  let buffer: Uint8Array | undefined;
  let position = 0;
  let done = 0;
  let unsynced = 0;
  let unyielded = 0;
  let settled: Array<PromiseSettledResult<void>>;
  const wrote = (n: number) => {
    done += n;
    unsynced += n;
    unyielded += n;
    if (unsynced >= WRITEBACK_EVERY) {
      unsynced = 0;
      file.writeback();
    }
  };
  try {
    for (const part of parts) {
      const at = position;
      position += chunkLength(part);
      if (isComputed(part)) {
        computing.push(
          part.produce({ fd, path: file.tempPath, position: at }).then(async (bytes) => {
            if (bytes) await writeAllAsync(fd, bytes, at);
            wrote(part.length);
            onProgress?.(done, total);
          }),
        );
        continue;
      }
      if (!isFileSlice(part)) {
        writeAll(fd, part, at);
        wrote(part.byteLength);
      } else {
        let src = sources.get(part.path);
        if (src === undefined) {
          try {
            src = openSync(part.path, 'r');
          } catch (err) {
            throw sourceError(part.path, err);
          }
          sources.set(part.path, src);
        }
        buffer ??= new Uint8Array(Math.min(COPY_BUFFER, Math.max(part.length, 1)));
        if (buffer.byteLength < Math.min(COPY_BUFFER, part.length)) buffer = new Uint8Array(Math.min(COPY_BUFFER, part.length));
        for (let off = 0; off < part.length; off += buffer.byteLength) {
          const piece = buffer.subarray(0, Math.min(buffer.byteLength, part.length - off));
          try {
            readFully(src, piece, part.offset + off);
          } catch (err) {
            throw sourceError(part.path, err);
          }
          writeAll(fd, piece, at + off);
          wrote(piece.byteLength);
          if (unyielded >= YIELD_EVERY) {
            unyielded = 0;
            await yieldToEventLoop();
          }
        }
      }
      onProgress?.(done, total);
      if (unyielded >= YIELD_EVERY) {
        unyielded = 0;
        await yieldToEventLoop();
      }
    }
  } finally {
    for (const src of sources.values()) closeSync(src);
    // Even when this loop failed: the caller closes `fd` next, and no write may come after.
    settled = await Promise.allSettled(computing);
  }
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return done;
}

/** Tensor bytes are read back from the file they were loaded from: name it if it vanished or shrank since. */
function sourceError(path: string, err: unknown): InputError {
  const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new InputError(`${path}: cannot read tensor data back from this file (${why}); was it changed or removed after loading?`, { cause: err });
}

/** A file written under a temporary name in the target directory, moved into place on commit. */
export class AtomicFile {
  readonly tempPath: string;
  readonly fd: number;
  private closed = false;
  /** A second descriptor for background writeback, so its errors never hide from `finish`'s fsync. */
  private syncFd?: number;
  private syncing = 0;

  constructor(readonly path: string) {
    this.tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    this.fd = openSync(this.tempPath, 'wx');
    trackPending(this.tempPath);
  }

  /**
   * Starts writing what was written so far to disk in the background (libuv's thread pool)
   * while writing goes on, so `finish`'s fsync has little left to wait for: for a 1 GB model
   * the fsync otherwise cost as much as the copy itself.
   */
  writeback(): void {
    if (this.closed) return;
    try {
      this.syncFd ??= openSync(this.tempPath, 'r');
    } catch {
      return; // only an optimisation: `finish` still fsyncs
    }
    const fd = this.syncFd;
    this.syncing++;
    fdatasync(fd, () => {
      if (--this.syncing === 0 && this.closed) this.closeSyncFd();
    });
  }

  private closeSyncFd(): void {
    if (this.syncFd !== undefined && this.syncing === 0) {
      closeSync(this.syncFd);
      this.syncFd = undefined;
    }
  }

  /** Flushes to disk and closes; `rename` moves it into place. */
  finish(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
    this.closeSyncFd();
  }

  rename(): void {
    renameSync(this.tempPath, this.path);
    untrackPending(this.tempPath);
  }

  discard(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
    this.closeSyncFd();
    rmSync(this.tempPath, { force: true });
    untrackPending(this.tempPath);
  }
}
