/**
 * The zip subset `.npz` files use: stored or deflated entries, zip64 (numpy writes zip64
 * extras for every entry), no encryption, one disk. The central directory is read with
 * positioned reads so a large archive is never loaded whole.
 */
import type { FileHandle } from 'node:fs/promises';
import { crc32, deflateRawSync } from 'node:zlib';
import { InputError } from '../errors.ts';
import { FileRangeReader, InflateReader, type ByteReader } from './stream.ts';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const MAX32 = 0xffffffff;
const EOCD_BYTES = 22;
const STORED = 0;
const DEFLATED = 8;

async function readAt(fh: FileHandle, pos: number, n: number, label: string): Promise<DataView> {
  const bytes = await new FileRangeReader(fh, pos, pos + n, label).read(n);
  return new DataView(bytes.buffer);
}

function u64(v: DataView, at: number, label: string): number {
  const n = v.getBigUint64(at, true);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new InputError(`${label}: zip64 field too large`);
  return Number(n);
}

/** Lists the entries of the central directory. */
export async function readZipDirectory(fh: FileHandle, fileSize: number, label: string): Promise<ZipEntry[]> {
  if (fileSize < EOCD_BYTES) throw new InputError(`${label}: not a zip/npz file (too short)`);
  const tailStart = Math.max(0, fileSize - EOCD_BYTES - 0xffff);
  const tail = await readAt(fh, tailStart, fileSize - tailStart, label);
  let at = tail.byteLength - EOCD_BYTES;
  while (at >= 0 && tail.getUint32(at, true) !== SIG_EOCD) at--;
  if (at < 0) throw new InputError(`${label}: not a zip/npz file, or truncated (no end of central directory)`);
  let count = tail.getUint16(at + 10, true);
  let cdSize = tail.getUint32(at + 12, true);
  let cdOffset = tail.getUint32(at + 16, true);
  const eocdPos = tailStart + at;
  if (eocdPos >= 20) {
    const loc = await readAt(fh, eocdPos - 20, 20, label);
    if (loc.getUint32(0, true) === SIG_LOCATOR64) {
      const recPos = u64(loc, 8, label);
      const rec = await readAt(fh, recPos, 56, label);
      if (rec.getUint32(0, true) !== SIG_EOCD64) throw new InputError(`${label}: bad zip64 end of central directory`);
      count = u64(rec, 32, label);
      cdSize = u64(rec, 40, label);
      cdOffset = u64(rec, 48, label);
    }
  }
  if (cdOffset + cdSize > eocdPos) throw new InputError(`${label}: truncated zip/npz file (central directory out of range)`);
  const cd = await readAt(fh, cdOffset, cdSize, label);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.byteLength || cd.getUint32(p, true) !== SIG_CENTRAL) throw new InputError(`${label}: corrupt zip central directory`);
    const flags = cd.getUint16(p + 8, true);
    const nameLen = cd.getUint16(p + 28, true);
    const extraLen = cd.getUint16(p + 30, true);
    const commentLen = cd.getUint16(p + 32, true);
    const nameBytes = new Uint8Array(cd.buffer, p + 46, nameLen);
    // Bit 11: UTF-8 names; otherwise CP437, of which ASCII (all numpy writes) is a subset.
    const name = Buffer.from(nameBytes).toString(flags & 0x800 ? 'utf8' : 'latin1');
    const entry: ZipEntry = {
      name,
      flags,
      method: cd.getUint16(p + 10, true),
      crc32: cd.getUint32(p + 16, true),
      compressedSize: cd.getUint32(p + 20, true),
      size: cd.getUint32(p + 24, true),
      localOffset: cd.getUint32(p + 42, true),
    };
    applyZip64Extra(entry, new DataView(cd.buffer, p + 46 + nameLen, extraLen), label);
    entries.push(entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The zip64 extra holds, in order, only the fields whose 32-bit slot is 0xFFFFFFFF. */
function applyZip64Extra(e: ZipEntry, extra: DataView, label: string): void {
  for (let q = 0; q + 4 <= extra.byteLength; ) {
    const id = extra.getUint16(q, true);
    const len = extra.getUint16(q + 2, true);
    if (id === 0x0001) {
      let r = q + 4;
      for (const key of ['size', 'compressedSize', 'localOffset'] as const) {
        if (e[key] !== MAX32) continue;
        if (r + 8 > q + 4 + len) throw new InputError(`${label}: ${e.name}: short zip64 extra field`);
        e[key] = u64(extra, r, label);
        r += 8;
      }
    }
    q += 4 + len;
  }
}

/** A sequential reader of the entry's uncompressed bytes. */
export async function openZipEntry(fh: FileHandle, fileSize: number, e: ZipEntry, label: string): Promise<ByteReader> {
  const name = `${label} (${e.name})`;
  if (e.flags & 1) throw new InputError(`${name}: encrypted zip entries are not supported`);
  const local = await readAt(fh, e.localOffset, 30, name);
  if (local.getUint32(0, true) !== SIG_LOCAL) throw new InputError(`${name}: corrupt zip local header`);
  const start = e.localOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
  if (start + e.compressedSize > fileSize) throw new InputError(`${name}: truncated (entry data runs past the end of the file)`);
  if (e.method === STORED) return new FileRangeReader(fh, start, start + e.size, name);
  if (e.method === DEFLATED) return new InflateReader(fh, start, e.compressedSize, name);
  throw new InputError(`${name}: unsupported zip compression method ${e.method} (only stored and deflate)`);
}

export interface ZipWriteOptions {
  compress?: boolean;
  /** Write zip64 records even for small entries, as numpy does; otherwise only when needed. */
  forceZip64?: boolean;
}

/** Appends entries to an open file, then the central directory; fixed timestamps keep output reproducible. */
export class ZipWriter {
  private pos = 0;
  private readonly central: Buffer[] = [];

  constructor(
    private readonly fh: FileHandle,
    private readonly opts: ZipWriteOptions = {},
  ) {}

  /** `parts` are concatenated into one entry. */
  async add(name: string, parts: Uint8Array[]): Promise<void> {
    const size = parts.reduce((s, b) => s + b.length, 0);
    const crc = parts.reduce((c, b) => crc32(b, c), 0);
    const body = this.opts.compress === true ? [deflateRawSync(Buffer.concat(parts))] : parts;
    const compressedSize = body.reduce((s, b) => s + b.length, 0);
    const nameBytes = Buffer.from(name, 'utf8');
    const big = this.opts.forceZip64 === true || size >= MAX32 || compressedSize >= MAX32;
    const farOffset = this.pos >= MAX32;
    const flags = /^[\x20-\x7e]*$/.test(name) ? 0 : 0x800;
    const method = this.opts.compress === true ? DEFLATED : STORED;
    const version = big || farOffset ? 45 : 20;

    const localExtra = big ? zip64Extra([size, compressedSize]) : Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(version, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12); // DOS date 1980-01-01, time 00:00
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(big ? MAX32 : compressedSize, 18);
    local.writeUInt32LE(big ? MAX32 : size, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(localExtra.length, 28);

    const centralExtra = zip64Extra([...(big ? [size, compressedSize] : []), ...(farOffset ? [this.pos] : [])]);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(SIG_CENTRAL, 0);
    c.writeUInt16LE((3 << 8) | version, 4); // made by: Unix
    c.writeUInt16LE(version, 6);
    local.copy(c, 8, 6, 30); // flags .. extra length mirror the local header
    c.writeUInt16LE(centralExtra.length, 30);
    c.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
    c.writeUInt32LE(farOffset ? MAX32 : this.pos, 42);
    this.central.push(c, nameBytes, centralExtra);

    await this.write([local, nameBytes, localExtra, ...body]);
  }

  async finish(): Promise<void> {
    const cdOffset = this.pos;
    const cd = Buffer.concat(this.central);
    const count = this.central.length / 3;
    const tail: Buffer[] = [cd];
    const need64 = this.opts.forceZip64 === true || count >= 0xffff || cd.length >= MAX32 || cdOffset >= MAX32;
    if (need64) {
      const rec = Buffer.alloc(56);
      rec.writeUInt32LE(SIG_EOCD64, 0);
      rec.writeBigUInt64LE(44n, 4);
      rec.writeUInt16LE(45, 12);
      rec.writeUInt16LE(45, 14);
      rec.writeBigUInt64LE(BigInt(count), 24);
      rec.writeBigUInt64LE(BigInt(count), 32);
      rec.writeBigUInt64LE(BigInt(cd.length), 40);
      rec.writeBigUInt64LE(BigInt(cdOffset), 48);
      const loc = Buffer.alloc(20);
      loc.writeUInt32LE(SIG_LOCATOR64, 0);
      loc.writeBigUInt64LE(BigInt(cdOffset + cd.length), 8);
      loc.writeUInt32LE(1, 16);
      tail.push(rec, loc);
    }
    const eocd = Buffer.alloc(EOCD_BYTES);
    eocd.writeUInt32LE(SIG_EOCD, 0);
    eocd.writeUInt16LE(Math.min(count, 0xffff), 8);
    eocd.writeUInt16LE(Math.min(count, 0xffff), 10);
    eocd.writeUInt32LE(Math.min(cd.length, MAX32), 12);
    eocd.writeUInt32LE(Math.min(cdOffset, MAX32), 16);
    tail.push(eocd);
    await this.write(tail);
  }

  private async write(parts: Uint8Array[]): Promise<void> {
    for (const b of parts) {
      for (let done = 0; done < b.length; ) {
        const { bytesWritten } = await this.fh.write(b, done, b.length - done, this.pos);
        done += bytesWritten;
        this.pos += bytesWritten;
      }
    }
  }
}

function zip64Extra(values: number[]): Buffer {
  if (values.length === 0) return Buffer.alloc(0);
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(0x0001, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}
