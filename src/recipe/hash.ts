/**
 * SHA-256 of a data set as stored, so a report says exactly which data its numbers came from.
 * A file hashes its bytes; a folder (images, .npy files) its files in sorted order, each as
 * its relative name and bytes, so renaming a file changes the hash as well.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.ts';

async function addFile(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
}

async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await filesUnder(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

export async function hashDataset(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    if ((await stat(path)).isDirectory()) {
      for (const rel of await filesUnder(path)) {
        hash.update(`${rel}\0`);
        await addFile(hash, join(path, rel));
      }
    } else await addFile(hash, path);
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return hash.digest('hex');
}
