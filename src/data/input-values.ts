/**
 * `--input-value NAME=VALUE|file.npy`: a value fed whole to a model input on every run (a
 * sample rate, a zero state). A number is a 0-d array: fed to a scalar input as it is, and
 * to a tensor input as that input's shape filled with it.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.ts';
import { decodeNpy, type NpArray } from './npy.ts';

export type InputValues = Readonly<Record<string, NpArray>>;

export async function parseInputValues(specs: readonly string[]): Promise<InputValues> {
  const out: Record<string, NpArray> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq).trim();
    const value = spec.slice(eq + 1).trim();
    if (eq < 1 || !name || !value) throw new InputError(`--input-value ${spec}: expected NAME=VALUE or NAME=file.npy`);
    if (name in out) throw new InputError(`--input-value ${name} is given twice`);
    out[name] = value.toLowerCase().endsWith('.npy') ? await readNpy(value) : scalar(spec, value);
  }
  return out;
}

function scalar(spec: string, text: string): NpArray {
  const v = Number(text);
  if (!Number.isFinite(v)) throw new InputError(`--input-value ${spec}: ${text} is neither a finite number nor a .npy file`);
  return { dtype: 'float64', shape: [], data: Float64Array.of(v) };
}

async function readNpy(path: string): Promise<NpArray> {
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`--input-value ${path}: cannot read (${err.code ?? err.message})`, { cause: err });
  });
  return decodeNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}
