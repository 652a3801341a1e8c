/**
 * Saving: the IR is encoded into parts (tensor bytes by reference, never re-assembled in
 * memory) and streamed to a temporary file next to the target, then renamed into place.
 * Tensors go to an external data file when asked, or when the model would not fit in a
 * single protobuf (2 GB).
 */
import { existsSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { chunkLength, readChunk, type Chunk } from '../onnx/chunk.ts';
import { encodeMessage } from '../onnx/codec.ts';
import { Model as ModelDesc } from '../onnx/schema.ts';
import type { Model } from '../ir/model.ts';
import type { Tensor } from '../ir/tensor.ts';
import { modelToProto, type PlaceTensor } from './to-proto.ts';
import { AtomicFile, writeParts, type Progress } from './write.ts';

/** Protobuf messages are limited to 2 GiB. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

export interface SaveOptions {
  /**
   * Write tensor data to an external file beside the model: `true` for `<model file>.data`,
   * or a file name (relative to the model's directory). Default: only when the model would
   * exceed the 2 GB protobuf limit.
   */
  externalData?: boolean | string;
  /** Tensors smaller than this many bytes stay inline when writing external data. Default 1024. */
  externalThreshold?: number;
  onProgress?: Progress;
}

export interface SaveResult {
  path: string;
  bytes: number;
  externalPath?: string;
  externalBytes: number;
}

function realOrResolved(path: string): string {
  return existsSync(path) ? realpathSync(path) : resolve(path);
}

function totalTensorBytes(model: Model): number {
  let n = 0;
  for (const g of model.graph.walk()) for (const t of g.initializers.values()) n += t.byteLength;
  return n;
}

/** Data-file layout: each tensor placed at an aligned offset so runtimes can map it. */
function externalPlacement(location: string, threshold: number) {
  const pieces: Array<{ offset: number; chunk: Chunk }> = [];
  let end = 0;
  const place: PlaceTensor = (t: Tensor, chunk: Chunk) => {
    const length = chunkLength(chunk);
    if (length < threshold || t.dtype === 'string') return undefined;
    const align = length >= 65536 ? 4096 : 64;
    const offset = Math.ceil(end / align) * align;
    pieces.push({ offset, chunk });
    end = offset + length;
    return { location, offset, length };
  };
  const parts = (): Chunk[] => {
    const out: Chunk[] = [];
    let at = 0;
    for (const p of pieces) {
      if (p.offset > at) out.push(new Uint8Array(p.offset - at));
      out.push(p.chunk);
      at = p.offset + chunkLength(p.chunk);
    }
    return out;
  };
  return { place, parts };
}

export async function saveModel(model: Model, path: string, opts: SaveOptions = {}): Promise<SaveResult> {
  const target = realOrResolved(path);
  if (model.sources.has(target)) throw new InputError(`${path}: refusing to overwrite the model's own input file`);
  const wantExternal = opts.externalData ?? totalTensorBytes(model) > PROTOBUF_LIMIT - 64 * 1024 * 1024;
  const location = typeof wantExternal === 'string' ? wantExternal : `${basename(path)}.data`;
  const dataPath = wantExternal ? resolve(dirname(target), location) : undefined;
  if (dataPath && model.sources.has(realOrResolved(dataPath))) {
    throw new InputError(`${dataPath}: refusing to overwrite external data the model was read from`);
  }
  const layout = wantExternal ? externalPlacement(location, opts.externalThreshold ?? 1024) : undefined;
  const proto = modelToProto(model, layout?.place ?? (() => undefined));
  const parts = encodeMessage(proto, ModelDesc).finish();
  const bytes = parts.reduce((n, p) => n + chunkLength(p), 0);
  if (bytes > PROTOBUF_LIMIT) {
    throw new InputError(`${path}: the model is ${bytes} bytes, over the 2 GB protobuf limit; save with external data`);
  }
  const files: AtomicFile[] = [];
  const placed: AtomicFile[] = [];
  try {
    let externalBytes = 0;
    if (layout && dataPath) {
      const data = new AtomicFile(dataPath);
      files.push(data);
      externalBytes = await writeParts(data, layout.parts(), opts.onProgress);
      data.finish();
    }
    const main = new AtomicFile(target);
    files.push(main);
    await writeParts(main, parts, opts.onProgress);
    main.finish();
    for (const f of files) {
      f.rename();
      placed.push(f);
    }
    return { path: target, bytes, externalPath: dataPath && join(dataPath), externalBytes };
  } catch (err) {
    for (const f of files) f.discard();
    // A data file already moved into place must not outlive the model file that failed to follow it.
    for (const f of placed) rmSync(f.path, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new InputError(`${path}: cannot write (${code})`, { cause: err });
    throw err;
  }
}

/** The whole model as one buffer (for in-memory runtimes); external data is inlined. */
export function modelToBytes(model: Model): Uint8Array {
  const parts = encodeMessage(modelToProto(model, () => undefined), ModelDesc).finish();
  const out = new Uint8Array(parts.reduce((n, p) => n + chunkLength(p), 0));
  let at = 0;
  for (const p of parts) {
    out.set(readChunk(p), at);
    at += chunkLength(p);
  }
  return out;
}
