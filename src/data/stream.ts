/**
 * Sequential readers over a byte range of an open file, plain or raw-deflated, and a row
 * reader on top: a data set is read one batch at a time so memory does not grow with it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import { InputError } from '../errors.ts';
import { npyHeaderLength, NPY_PRELUDE_BYTES, parseNpyHeader, rowBytes, typedFromBytes, type NpyHeader } from './npy.ts';
import type { TypedArray } from '../onnx/dtype.ts';

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const CHUNK = 1 << 16;

export interface ByteReader {
  /** Exactly `n` bytes from the current position, in a fresh (aligned) buffer. */
  read(n: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Positioned reads of [start, end) of a file; the handle stays owned by the caller. */
export class FileRangeReader implements ByteReader {
  private pos: number;
  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly end: number,
    private readonly label: string,
  ) {
    this.pos = start;
  }

  async read(n: number): Promise<Uint8Array> {
    if (this.pos + n > this.end) throw new InputError(`${this.label}: truncated (needs ${this.pos + n - this.end} more bytes)`);
    const out = new Uint8Array(n);
    for (let done = 0; done < n; ) {
      const { bytesRead } = await this.fh.read(out, done, n - done, this.pos + done);
      if (bytesRead === 0) throw new InputError(`${this.label}: truncated (file ended early)`);
      done += bytesRead;
    }
    this.pos += n;
    return out;
  }

  async close(): Promise<void> {}
}

/** Inflates a raw-deflate byte range as it is read; only a few chunks are in memory. */
export class InflateReader implements ByteReader {
  private readonly input: Readable;
  private readonly inflate: InflateRaw;
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Uint8Array = new Uint8Array(0);

  constructor(fh: FileHandle, start: number, length: number, private readonly label: string) {
    // Not fh.createReadStream: destroying that stream closes the shared handle.
    const file = new FileRangeReader(fh, start, start + length, label);
    this.input = Readable.from(
      (async function* () {
        for (let left = length; left > 0; left -= CHUNK) yield await file.read(Math.min(CHUNK, left));
      })(),
      { objectMode: false },
    );
    this.inflate = createInflateRaw();
    // Errors surface through the iterator below; the callback only keeps pipeline from throwing.
    pipeline(this.input, this.inflate, () => {});
    this.chunks = this.inflate[Symbol.asyncIterator]();
  }

  async read(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.pending.length === 0) this.pending = await this.nextChunk();
      const take = Math.min(n - filled, this.pending.length);
      out.set(this.pending.subarray(0, take), filled);
      this.pending = this.pending.subarray(take);
      filled += take;
    }
    return out;
  }

  async close(): Promise<void> {
    this.inflate.destroy();
    this.input.destroy();
  }

  private async nextChunk(): Promise<Uint8Array> {
    let r: IteratorResult<Buffer>;
    try {
      r = await this.chunks.next();
    } catch (err) {
      if (err instanceof InputError) throw err; // from reading the file, already labelled
      throw new InputError(`${this.label}: corrupt compressed data (${errorText(err)})`, { cause: err });
    }
    if (r.done === true) throw new InputError(`${this.label}: compressed data ended early (truncated or corrupt)`);
    return r.value;
  }
}

/** Reads an array's rows (indices along its first axis) in order. */
export class RowReader {
  readonly rows: number;
  private readonly rowBytes: number;
  private position = 0;

  constructor(
    private readonly bytes: ByteReader,
    readonly header: NpyHeader,
  ) {
    this.rows = header.shape[0] ?? 1;
    this.rowBytes = rowBytes(header.dtype, header.shape);
  }

  /** Up to `count` rows from the current position (fewer at the end). */
  async read(count: number): Promise<TypedArray> {
    const n = Math.max(0, Math.min(count, this.rows - this.position));
    const bytes = await this.bytes.read(n * this.rowBytes);
    this.position += n;
    return typedFromBytes(this.header.dtype, bytes);
  }

  close(): Promise<void> {
    return this.bytes.close();
  }
}

/** Reads a `.npy` header from the start of `size` bytes, leaving the reader at the first data byte. */
export async function readNpyHeader(reader: ByteReader, size: number, label: string): Promise<NpyHeader> {
  const prelude = await reader.read(Math.min(NPY_PRELUDE_BYTES, size));
  const length = npyHeaderLength(prelude, label);
  if (length > size) throw new InputError(`${label}: truncated .npy header`);
  const all = new Uint8Array(length);
  all.set(prelude.subarray(0, length));
  if (length > prelude.length) all.set(await reader.read(length - prelude.length), prelude.length);
  return parseNpyHeader(all, label);
}

/** A `.npy` file on disk: the header is read on open, rows on demand. */
export class NpyFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly size: number,
    readonly header: NpyHeader,
  ) {}

  static async open(path: string): Promise<NpyFile> {
    const fh = await open(path, 'r').catch((err: unknown) => {
      throw new InputError(`${path}: cannot open (${errorText(err)})`, { cause: err });
    });
    try {
      const { size } = await fh.stat();
      const header = await readNpyHeader(new FileRangeReader(fh, 0, size, path), size, path);
      if (header.headerBytes + header.dataBytes > size) {
        throw new InputError(`${path}: truncated .npy data (${size - header.headerBytes} of ${header.dataBytes} bytes)`);
      }
      return new NpyFile(path, fh, size, header);
    } catch (err) {
      await fh.close();
      if (err instanceof InputError) throw err;
      throw new InputError(`${path}: cannot read .npy (${errorText(err)})`, { cause: err });
    }
  }

  /** Rows are read by offset, straight from the file. */
  rows(): RowReader {
    return new RowReader(new FileRangeReader(this.fh, this.header.headerBytes, this.size, this.path), this.header);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
