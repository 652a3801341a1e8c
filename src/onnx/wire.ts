/**
 * Protocol-buffer wire format, just what ONNX needs: a reader over any `ByteSource` and an
 * encoder that produces a list of parts (small encoded bytes plus references to large
 * chunks), so saving streams big tensors to disk without assembling the model in memory.
 */
import { chunkLength, type Chunk } from './chunk.ts';
import type { ByteSource } from './source.ts';

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  Len = 2,
  Fixed32 = 5,
}

/** int64 values: a number when it is exact, a bigint otherwise (e.g. INT64_MAX in Slice). */
export type Int64 = number | bigint;

export class WireError extends Error {}

export class Reader {
  constructor(
    readonly source: ByteSource,
    public pos: number,
    readonly end: number,
  ) {}

  done(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number): void {
    if (this.pos + n <= this.end) return;
    // Name both ends: where the field wants to reach and where its data stops (the file's
    // end for a cut file, the enclosing message's end for a corrupted length).
    const stop = this.end === this.source.size ? `the file ends at byte ${this.end}` : `its message ends at byte ${this.end}`;
    throw new WireError(`truncated data: ${n} bytes needed at byte ${this.pos} but ${stop}`);
  }

  varint(): Int64 {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      this.need(1);
      const b = this.source.byte(this.pos++);
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if ((b & 0x80) === 0) return combine(lo >>> 0, hi >>> 0);
      shift += 7;
    }
    throw new WireError(`malformed varint at byte ${this.pos}`);
  }

  /** A varint that must fit in a safe JS number (lengths, tags, enums). */
  uint(): number {
    const v = this.varint();
    if (typeof v === 'bigint' || v < 0) throw new WireError(`length or tag ${BigInt.asUintN(64, BigInt(v))} out of range at byte ${this.pos}`);
    return v;
  }

  fixed32(): Uint8Array {
    this.need(4);
    const b = this.source.bytes(this.pos, 4);
    this.pos += 4;
    return b;
  }

  fixed64(): Uint8Array {
    this.need(8);
    const b = this.source.bytes(this.pos, 8);
    this.pos += 8;
    return b;
  }

  /** Length prefix of a LEN field, checked against the enclosing message. */
  length(): number {
    const n = this.uint();
    this.need(n);
    return n;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.need(8);
        this.pos += 8;
        return;
      case WireType.Len: {
        // Not `this.pos += this.length()`: that adds to the position from before the length prefix.
        const n = this.length();
        this.pos += n;
        return;
      }
      case WireType.Fixed32:
        this.need(4);
        this.pos += 4;
        return;
      default:
        throw new WireError(`unsupported wire type ${wireType} at byte ${this.pos}`);
    }
  }
}

function combine(lo: number, hi: number): Int64 {
  if (hi < 0x200000) return hi * 0x100000000 + lo; // < 2^53: exact as a number
  const big = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

const FLUSH_AT = 64 * 1024;

/** Accumulates encoded bytes; large chunks are kept by reference. */
export class Encoder {
  readonly parts: Chunk[] = [];
  private buf = new Uint8Array(256);
  private used = 0;
  private flushedLength = 0;

  get length(): number {
    return this.flushedLength + this.used;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.buf.byteLength) return;
    const next = new Uint8Array(Math.max(this.buf.byteLength * 2, this.used + n));
    next.set(this.buf.subarray(0, this.used));
    this.buf = next;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.parts.push(this.buf.slice(0, this.used));
    this.flushedLength += this.used;
    this.used = 0;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.used++] = b;
  }

  varint(value: Int64 | boolean): void {
    if (typeof value === 'boolean') value = value ? 1 : 0;
    if (typeof value === 'number' && value >= 0 && value < 0x80000000) {
      let v = value;
      while (v > 0x7f) {
        this.byte((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      this.byte(v);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  tag(field: number, wireType: WireType): void {
    this.varint(field * 8 + wireType);
  }

  raw(bytes: Uint8Array): void {
    if (bytes.byteLength >= FLUSH_AT) {
      this.flush();
      this.parts.push(bytes);
      this.flushedLength += bytes.byteLength;
      return;
    }
    this.reserve(bytes.byteLength);
    this.buf.set(bytes, this.used);
    this.used += bytes.byteLength;
  }

  chunk(chunk: Chunk): void {
    if (chunk instanceof Uint8Array) return this.raw(chunk);
    this.flush();
    this.parts.push(chunk);
    this.flushedLength += chunkLength(chunk);
  }

  /** Appends another encoder's output (a nested message already encoded). */
  append(other: Encoder): void {
    for (const part of other.finish()) this.chunk(part);
  }

  finish(): Chunk[] {
    this.flush();
    return this.parts;
  }
}
