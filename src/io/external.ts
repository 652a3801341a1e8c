/**
 * External-data paths: a `location` is a file name relative to the model's directory.
 * Anything absolute, or anything that leaves the directory (`..`, or a symlink pointing
 * out), is refused: a model file must not be able to make the tool read arbitrary files.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../errors.ts';

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel);
}

export function resolveExternalLocation(modelPath: string, baseDir: string, location: string, tensor: string): string {
  const where = `${modelPath}: tensor '${tensor}' external data location '${location}'`;
  if (isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.startsWith('\\')) {
    throw new InputError(`${where} is an absolute path; only paths inside the model directory are allowed`);
  }
  const dir = resolve(baseDir);
  const path = resolve(join(dir, location));
  if (!inside(dir, path)) throw new InputError(`${where} escapes the model directory`);
  if (!existsSync(path)) throw new InputError(`${where}: file not found`);
  if (!inside(realpathSync(dir), realpathSync(path))) {
    throw new InputError(`${where} resolves through a symlink outside the model directory`);
  }
  if (!statSync(path).isFile()) throw new InputError(`${where} is not a regular file`);
  return realpathSync(path);
}

export function checkExternalRange(modelPath: string, path: string, offset: number, length: number, tensor: string): void {
  const size = statSync(path).size;
  if (offset + length > size) {
    throw new InputError(
      `${modelPath}: tensor '${tensor}' external data ends at byte ${offset + length} but ${path} has only ${size} bytes`,
    );
  }
}
