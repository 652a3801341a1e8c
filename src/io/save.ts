/**
 * Saving: the IR is encoded into parts (tensor bytes by reference, never re-assembled in
 * memory) and streamed to a staging folder next to the target, then renamed into place —
 * at once (`saveModel`), or after the caller's checks passed (`stageModel` → `commit`).
 * Tensors go to an external data file when asked, or when the model would not fit in a
 * single protobuf (2 GB).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { chunkLength, readChunk, type Chunk } from '../onnx/chunk.ts';
import { encodeMessage } from '../onnx/codec.ts';
import { Model as ModelDesc } from '../onnx/schema.ts';
import type { Model } from '../ir/model.ts';
import type { Tensor } from '../ir/tensor.ts';
import { trackPending, untrackPending } from './pending.ts';
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

/** Bytes of every tensor payload of the model (all graphs). */
export function tensorBytes(model: Model): number {
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

/**
 * A model written in full but not yet in place: the files sit in a staging folder beside the
 * target, under their final names (so the model's external-data location resolves), where a
 * check can load them. `commit` moves them into place; `abort` removes them. Either may be
 * called more than once; after one, the other does nothing.
 */
export interface StagedModel {
  /** The staged model file, readable by checks (onnxruntime, a reload) before commit. */
  readonly stagedPath: string;
  /** The staged external data file, if any. */
  readonly stagedExternalPath?: string;
  /** What `commit` returns: the final paths and sizes. */
  readonly result: SaveResult;
  commit(): SaveResult;
  abort(): void;
}

/** Writes the model (and its external data) to a staging folder next to `path`. */
export async function stageModel(model: Model, path: string, opts: SaveOptions = {}): Promise<StagedModel> {
  const target = realOrResolved(path);
  if (model.sources.has(target)) throw new InputError(`${path}: refusing to overwrite the model's own input file`);
  const wantExternal = opts.externalData ?? tensorBytes(model) > PROTOBUF_LIMIT - 64 * 1024 * 1024;
  const location = typeof wantExternal === 'string' ? wantExternal : `${basename(path)}.data`;
  if (wantExternal && (isAbsolute(location) || location.split(/[\\/]/).includes('..'))) {
    // Our own loader refuses such locations: a model written with one could not be read back.
    throw new InputError(`${path}: external data location '${location}' must stay inside the model's directory`);
  }
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
  let staging: string | undefined;
  try {
    sweepStale(dirname(target), basename(target));
    staging = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.staging`);
    mkdirSync(staging);
    trackPending(staging);
    const stagedPath = join(staging, basename(target));
    const stagedData = dataPath ? join(staging, location) : undefined;
    let externalBytes = 0;
    if (layout && stagedData) {
      mkdirSync(dirname(stagedData), { recursive: true });
      externalBytes = await writeFile(stagedData, layout.parts(), opts.onProgress);
    }
    await writeFile(stagedPath, parts, opts.onProgress);
    const result: SaveResult = { path: target, bytes, externalPath: dataPath, externalBytes };
    return staged(staging, path, result, stagedPath, stagedData);
  } catch (err) {
    if (staging) discardStaging(staging);
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new InputError(`${path}: cannot write (${code})`, { cause: err });
    throw err;
  }
}

async function writeFile(path: string, parts: readonly Chunk[], onProgress?: SaveOptions['onProgress']): Promise<number> {
  const file = new AtomicFile(path);
  try {
    const n = await writeParts(file, parts, onProgress);
    file.finish();
    file.rename();
    return n;
  } catch (err) {
    file.discard();
    throw err;
  }
}

/**
 * Removes what an earlier run writing the same output left behind when it died without
 * cleaning up (a native crash in onnxruntime, SIGKILL): staging folders and temp files named
 * after a process that no longer exists. Files of live processes are never touched.
 */
function sweepStale(dir: string, name: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // a missing folder fails below with its own message
  }
  for (const entry of entries) {
    if (!entry.startsWith(`.${name}.`)) continue;
    const m = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.(staging|tmp)$/.exec(entry);
    if (!m || m[1] !== name || processAlive(Number(m[2]))) continue;
    rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

function discardStaging(staging: string): void {
  rmSync(staging, { recursive: true, force: true });
  untrackPending(staging);
}

function staged(staging: string, label: string, result: SaveResult, stagedPath: string, stagedExternalPath?: string): StagedModel {
  let state: 'staged' | 'committed' | 'aborted' = 'staged';
  return {
    stagedPath,
    stagedExternalPath,
    result,
    commit() {
      if (state === 'committed') return result;
      if (state === 'aborted') throw new Error('commit after abort');
      try {
        // Data first: a model file in place must never point at data that is not.
        if (stagedExternalPath && result.externalPath) renameSync(stagedExternalPath, result.externalPath);
        try {
          renameSync(stagedPath, result.path);
        } catch (err) {
          if (result.externalPath) rmSync(result.externalPath, { force: true });
          throw err;
        }
      } catch (err) {
        state = 'aborted';
        discardStaging(staging);
        throw new InputError(`${label}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
      }
      state = 'committed';
      discardStaging(staging);
      return result;
    },
    abort() {
      if (state !== 'staged') return;
      state = 'aborted';
      discardStaging(staging);
    },
  };
}

/** Stages and commits at once: for callers with no check to run in between. */
export async function saveModel(model: Model, path: string, opts: SaveOptions = {}): Promise<SaveResult> {
  return (await stageModel(model, path, opts)).commit();
}

/** The size the model would have if saved as one file, without writing or reading tensors. */
export function encodedSize(model: Model): number {
  return encodeMessage(modelToProto(model, () => undefined), ModelDesc)
    .finish()
    .reduce((n, p) => n + chunkLength(p), 0);
}

/** From this many bytes of weights, an in-memory model goes to a runtime as a temporary file (withModelFile, ModelFiles), not as bytes. */
export const LARGE_MODEL_BYTES = 128 * 2 ** 20;


/**
 * `fn` with a path to the model written in full (streamed, tensor by tensor) to a temporary
 * folder, removed afterwards: a runtime loads a large model from it without this process
 * holding a serialized copy beside the runtime's own (the 1 GiB generated model: 2.3 GB
 * resident while a session opened from bytes).
 */
export async function withModelFile<T>(model: Model, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'shrinkray-model-'));
  trackPending(dir);
  try {
    const staged = await stageModel(model, join(dir, 'model.onnx'));
    try {
      return await fn(staged.stagedPath);
    } finally {
      staged.abort();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    untrackPending(dir);
  }
}

/**
 * Models written to one temporary folder for runtimes in other processes to load by path (as
 * withModelFile, for callers that hand the same models over many times: placement's
 * comparisons); each model is written once, and `close` removes them all.
 */
export class ModelFiles {
  private dir?: string;
  private readonly paths = new WeakMap<Model, string>();
  private readonly staged: StagedModel[] = [];

  async path(model: Model): Promise<string> {
    const known = this.paths.get(model);
    if (known) return known;
    if (!this.dir) {
      this.dir = mkdtempSync(join(tmpdir(), 'shrinkray-models-'));
      trackPending(this.dir);
    }
    const staged = await stageModel(model, join(this.dir, `${this.staged.length}.onnx`));
    this.staged.push(staged);
    this.paths.set(model, staged.stagedPath);
    return staged.stagedPath;
  }

  close(): void {
    for (const s of this.staged.splice(0)) s.abort();
    if (!this.dir) return;
    rmSync(this.dir, { recursive: true, force: true });
    untrackPending(this.dir);
    this.dir = undefined;
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
