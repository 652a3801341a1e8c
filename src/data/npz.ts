/**
 * NumPy `.npz` archives (np.savez / np.savez_compressed). Opening reads only the central
 * directory and each array's header; data is read whole (`read`) or row by row (`rows`).
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { InputError } from '../errors.ts';
import { checkNpArray, dataBytesOf, decodeNpy, encodeNpyHeader, type NpArray, type NpyHeader } from './npy.ts';
import { errorText, readNpyHeader, RowReader } from './stream.ts';
import { openZipEntry, readZipDirectory, ZipWriter, type ZipEntry, type ZipWriteOptions } from './zip.ts';

export class Npz {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly fileSize: number,
    private readonly arrays: Map<string, { entry: ZipEntry; header: NpyHeader }>,
  ) {}

  /** Opens an archive; arrays are named as np.load names them (entry name without `.npy`). */
  static async open(path: string): Promise<Npz> {
    const fh = await open(path, 'r').catch((err: unknown) => {
      throw new InputError(`${path}: cannot open (${errorText(err)})`, { cause: err });
    });
    try {
      const { size } = await fh.stat();
      const arrays = new Map<string, { entry: ZipEntry; header: NpyHeader }>();
      for (const entry of await readZipDirectory(fh, size, path)) {
        if (!entry.name.endsWith('.npy')) continue;
        const label = `${path} (${entry.name})`;
        const reader = await openZipEntry(fh, size, entry, path);
        try {
          const header = await readNpyHeader(reader, entry.size, label);
          if (header.headerBytes + header.dataBytes > entry.size) {
            throw new InputError(`${label}: truncated .npy data (${entry.size - header.headerBytes} of ${header.dataBytes} bytes)`);
          }
          arrays.set(entry.name.slice(0, -4), { entry, header });
        } finally {
          await reader.close();
        }
      }
      return new Npz(path, fh, size, arrays);
    } catch (err) {
      await fh.close();
      if (err instanceof InputError) throw err;
      throw new InputError(`${path}: cannot read npz (${errorText(err)})`, { cause: err });
    }
  }

  get names(): string[] {
    return [...this.arrays.keys()];
  }

  has(name: string): boolean {
    return this.arrays.has(name);
  }

  /** dtype and shape of an array, without reading its data. */
  header(name: string): NpyHeader {
    return this.lookup(name).header;
  }

  /** Reads a whole array, checking the zip CRC. */
  async read(name: string): Promise<NpArray> {
    const { entry } = this.lookup(name);
    const label = `${this.path} (${entry.name})`;
    const reader = await openZipEntry(this.fh, this.fileSize, entry, this.path);
    try {
      const bytes = await reader.read(entry.size);
      if (crc32(bytes) !== entry.crc32) throw new InputError(`${label}: CRC mismatch (corrupt archive)`);
      return decodeNpy(bytes, label);
    } finally {
      await reader.close();
    }
  }

  /** A reader of the array's rows in order; close it when done. */
  async rows(name: string): Promise<RowReader> {
    const { entry, header } = this.lookup(name);
    const reader = await openZipEntry(this.fh, this.fileSize, entry, this.path);
    await reader.read(header.headerBytes);
    return new RowReader(reader, header);
  }

  close(): Promise<void> {
    return this.fh.close();
  }

  private lookup(name: string): { entry: ZipEntry; header: NpyHeader } {
    const found = this.arrays.get(name);
    if (found === undefined) {
      const names = this.names.join(', ') || 'none';
      throw new InputError(`${this.path}: no array '${name}' (arrays: ${names})`);
    }
    return found;
  }
}

/** Reads every array of an archive into memory. */
export async function readNpz(path: string): Promise<Record<string, NpArray>> {
  const npz = await Npz.open(path);
  try {
    const out: Record<string, NpArray> = {};
    for (const name of npz.names) out[name] = await npz.read(name);
    return out;
  } finally {
    await npz.close();
  }
}

/**
 * Writes arrays as an `.npz` that np.load reads (`compress` = np.savez_compressed). Written
 * under a temporary name and renamed, so a failure leaves no half-written archive.
 */
export async function writeNpz(path: string, arrays: Record<string, NpArray>, opts: ZipWriteOptions = {}): Promise<void> {
  for (const [name, arr] of Object.entries(arrays)) checkNpArray(name, arr);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(temp, 'w');
  try {
    const zip = new ZipWriter(fh, opts);
    for (const [name, arr] of Object.entries(arrays)) await zip.add(`${name}.npy`, [encodeNpyHeader(arr.dtype, arr.shape), dataBytesOf(arr)]);
    await zip.finish();
    await fh.close();
    await rename(temp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
}
