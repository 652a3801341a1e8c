/**
 * Loading: a path is parsed straight from the file through a sliding window (large byte
 * fields stay in the file as lazy slices), bytes in memory are parsed in place as views.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '../errors.ts';
import { decodeMessage, type ProtoMessage } from '../onnx/codec.ts';
import { Model as ModelDesc } from '../onnx/schema.ts';
import { FileSource, MemorySource, type ByteSource } from '../onnx/source.ts';
import { Reader } from '../onnx/wire.ts';
import type { Model } from '../ir/model.ts';
import { checkExternalRange, resolveExternalLocation } from './external.ts';
import { modelFromProto } from './from-proto.ts';

export interface LoadOptions {
  /** Directory that external-data locations are relative to (default: the model's directory). */
  baseDir?: string;
  /** Name used in messages when loading from bytes. */
  label?: string;
}

/** Reads an ONNX model from a file path or from bytes, losing nothing. */
export async function loadModel(input: string | Uint8Array, opts: LoadOptions = {}): Promise<Model> {
  const label = typeof input === 'string' ? input : (opts.label ?? '<bytes>');
  if (typeof input === 'string') {
    if (!existsSync(input)) throw new InputError(`${input}: no such file`);
    if (!statSync(input).isFile()) throw new InputError(`${input}: not a file`);
  }
  const source: ByteSource = typeof input === 'string' ? new FileSource(input) : new MemorySource(input);
  const baseDir = opts.baseDir ?? (typeof input === 'string' ? dirname(input) : process.cwd());
  const externals = new Set<string>();
  try {
    if (source.size === 0) throw new Error('the file is empty');
    const proto = decodeMessage(new Reader(source, 0, source.size), ModelDesc);
    checkLooksLikeModel(proto);
    const model = modelFromProto(proto, {
      resolveExternal: (location, tensor) => {
        const path = resolveExternalLocation(label, baseDir, location, tensor);
        externals.add(path);
        return path;
      },
      checkRange: (path, offset, length, tensor) => checkExternalRange(label, path, offset, length, tensor),
    });
    if (typeof input === 'string') model.sources.add(realpathSync(input));
    for (const e of externals) model.sources.add(e);
    return model;
  } catch (err) {
    if (err instanceof InputError) {
      err.message = oneLine(err.message);
      throw err;
    }
    const why = err instanceof Error ? err.message : String(err);
    throw new InputError(oneLine(`${label}: not a valid ONNX model (${why})`), { cause: err });
  } finally {
    source.close();
  }
}

/** Names read from a damaged file may hold newlines or escape codes: messages stay one line. */
function oneLine(message: string): string {
  let out = '';
  for (const c of message) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\${ESCAPES[c] ?? `x${code.toString(16).padStart(2, '0')}`}` : c;
  }
  return out;
}
const ESCAPES: Record<string, string> = { '\n': 'n', '\r': 'r', '\t': 't' };

/** Random bytes often parse as protobuf; a model must at least carry a version and a graph. */
function checkLooksLikeModel(p: ProtoMessage): void {
  if (p.ir_version === undefined) throw new Error('no ir_version field');
  if (p.graph === undefined) throw new Error('no graph');
}

/** The external data files a model was loaded with (what its size on disk includes besides `path`). */
export function externalDataFiles(model: Model, path: string): string[] {
  const self = realpathSync(path);
  return [...model.sources].filter((f) => f !== self);
}
