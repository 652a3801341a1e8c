/**
 * Weight quantization on worker threads, for models whose weights run to hundreds of MB:
 * each worker reads a weight straight from its file into its own SIMD kernel memory,
 * quantizes it, and either hands back the int8 codes (transferred, not copied) or writes
 * them itself into the output file at their offset (saving: no copy, and the main thread
 * goes on writing meanwhile). Peak memory is one weight per worker.
 *
 * The worker is plain JavaScript evaluated from a string (so it runs the same under tsx,
 * vitest and the compiled package) and repeats the kernels' contract from simd.ts/scales.ts:
 * scale = float32(max|w| / 127), or 1 for an all-zero channel; codes from the same wasm.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WriteTarget } from '../../onnx/chunk.ts';
import { WASM_BASE64 } from './simd.ts';

export interface WeightTask {
  /** Where the float32 little-endian values are: a file slice, or bytes in memory. */
  source: { path: string; offset: number } | { bytes: Uint8Array };
  rows: number;
  cols: number;
  /** Channels are columns (true) or rows (false). */
  perColumn: boolean;
  /** false: one scale for the whole tensor. */
  perChannel: boolean;
  /** Values are multiplied by this before quantizing (Gemm alpha). */
  factor: number;
  /** Codes are laid out [cols, rows], the transpose of the weight (Gemm transB=1). */
  transpose?: boolean;
}

export interface WeightCodes {
  values: Int8Array;
  scales: Float32Array;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const x = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(workerData.wasm, 'base64')), {}).exports;
const align = (n) => Math.ceil(n / 64) * 64;
// Read in pieces of about 1 MB, each piece's channel maxima taken while it is still in cache:
// one pass over memory instead of two (reading, then a separate maxima pass).
const PIECE = 1 << 20;
function ensure(bytes) {
  const have = x.memory.buffer.byteLength;
  if (bytes > have) x.memory.grow(Math.ceil((bytes - have) / 65536));
}
function readFully(fd, bytes, offset, path) {
  for (let done = 0; done < bytes.length; ) {
    const r = fs.readSync(fd, bytes, done, bytes.length - done, offset + done);
    if (r === 0) throw new Error('unexpected end of file at byte ' + (offset + done) + ' of ' + path);
    done += r;
  }
}
function writeAll(fd, bytes, position) {
  for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
}
// Codes go to the file with O_DIRECT where it allows it: from this memory straight to the
// disk, with no page-cache pages to allocate (on a VM whose free memory the host reclaims,
// allocating them throttled buffered writes to ~400 MB/s; O_DIRECT ran at ~1.5 GB/s). Only
// whole aligned blocks go direct (the memory is placed at the same offset modulo BLOCK); the
// partial blocks at either end, shared with neighbouring parts, are written buffered.
const BLOCK = 4096;
function writeCodes(target, codes) {
  const start = target.position;
  const a = Math.ceil(start / BLOCK) * BLOCK;
  const b = Math.floor((start + codes.length) / BLOCK) * BLOCK;
  let direct;
  if (b - a >= 16 * BLOCK && fs.constants.O_DIRECT) {
    try {
      direct = fs.openSync(target.path, fs.constants.O_WRONLY | fs.constants.O_DIRECT);
    } catch {}
  }
  if (direct === undefined) return writeAll(target.fd, codes, start);
  try {
    writeAll(direct, codes.subarray(a - start, b - start), a);
  } catch {
    writeAll(target.fd, codes.subarray(a - start, b - start), a); // a file system that refuses it after all
  } finally {
    fs.closeSync(direct);
  }
  writeAll(target.fd, codes.subarray(0, a - start), start);
  writeAll(target.fd, codes.subarray(b - start), b);
}
parentPort.on('message', (t) => {
  try {
    const n = t.rows * t.cols;
    const rowBytes = t.cols * 4;
    const channels = t.perColumn ? t.cols : t.rows;
    // Memory: [float input | channel values | int8 codes | transposed codes]; the codes that
    // are written sit at the offset modulo BLOCK they have in the file (see writeCodes).
    const skew = t.target ? t.target.position % BLOCK : 0;
    const chAt = align(n * 4);
    const outAt = Math.ceil((chAt + channels * 4) / BLOCK) * BLOCK + (t.transpose ? 0 : skew);
    const transposedAt = Math.ceil((outAt + n) / BLOCK) * BLOCK + skew;
    ensure(t.transpose ? transposedAt + n : outAt + n);
    const ch = new Float32Array(x.memory.buffer, chAt, channels);
    ch.fill(0);
    const step = Math.max(1, Math.floor(PIECE / rowBytes));
    const src = t.path !== undefined ? fs.openSync(t.path, 'r') : undefined;
    try {
      for (let r = 0; r < t.rows; r += step) {
        const rows = Math.min(step, t.rows - r);
        const at = r * rowBytes;
        const piece = new Uint8Array(x.memory.buffer, at, rows * rowBytes);
        if (src !== undefined) readFully(src, piece, t.offset + at, t.path);
        else piece.set(t.bytes.subarray(at, at + piece.length));
        if (t.factor !== 1) {
          const f = new Float32Array(x.memory.buffer, at, rows * t.cols);
          for (let i = 0; i < f.length; i++) f[i] = f[i] * t.factor;
        }
        if (t.perColumn) x.colAbsMax(at, rows, t.cols, chAt);
        else x.rowAbsMax(at, rows, t.cols, chAt + r * 4);
      }
    } finally {
      if (src !== undefined) fs.closeSync(src);
    }
    if (!t.perChannel) ch.fill(ch.reduce((a, b) => (b > a ? b : a), 0));
    for (let i = 0; i < channels; i++) {
      const s = Math.fround(ch[i] / 127);
      ch[i] = s > 0 && Number.isFinite(s) ? s : 1;
    }
    if (t.perColumn) x.quantizeCols(0, t.rows, t.cols, chAt, outAt);
    else x.quantizeRows(0, t.rows, t.cols, chAt, outAt);
    let codes = new Int8Array(x.memory.buffer, outAt, n);
    if (t.transpose) {
      const out = new Int8Array(x.memory.buffer, transposedAt, n);
      for (let i = 0, at = 0; i < t.rows; i++) for (let j = 0; j < t.cols; j++, at++) out[j * t.rows + i] = codes[at];
      codes = out;
    }
    const scales = t.perChannel ? Float32Array.from(ch) : Float32Array.of(ch[0]);
    if (t.target) {
      writeCodes(t.target, new Uint8Array(codes.buffer, codes.byteOffset, n));
      parentPort.postMessage({ id: t.id, scales }, [scales.buffer]);
    } else {
      const values = new Int8Array(codes);
      parentPort.postMessage({ id: t.id, values, scales }, [values.buffer, scales.buffer]);
    }
  } catch (e) {
    parentPort.postMessage({ id: t.id, error: String((e && e.message) || e) });
  }
});
`;

type Reply = { id: number; values?: Int8Array; scales: Float32Array; error?: undefined } | { id: number; error: string };

/** How long the shared pool stays up without work (quantizing then saving reuses it; an idle process does not keep it). */
const SHARED_IDLE_MS = 1000;

let shared: WeightPool | undefined;

type Waiting = { resolve: (r: Reply & { error?: undefined }) => void; reject: (e: Error) => void };

export class WeightPool {
  private readonly workers: Worker[];
  private readonly idle: Worker[];
  private readonly queue: Array<{ start: () => void; reject: (e: Error) => void }> = [];
  private readonly pending = new Map<number, Waiting>();
  private next = 0;
  private idleTimer?: NodeJS.Timeout;
  /** Set when a worker died: every task then fails (none would ever be answered). */
  private failure?: Error;
  private closing = false;

  private constructor(threads: number, private readonly onIdle?: () => void) {
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(WORKER, { eval: true, workerData: { wasm: WASM_BASE64 } });
      w.on('message', (r: Reply) => this.settle(w, r));
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => this.fail(new Error(`a weight-quantizing worker thread exited (code ${code})`)));
      // Only a worker with a task keeps the process alive (see `post`).
      w.unref();
      return w;
    });
    this.idle = [...this.workers];
    this.armIdle();
  }

  /** A pool of `threads` workers (default: one per available core), or undefined below two. */
  static create(threads = availableParallelism()): WeightPool | undefined {
    return threads >= 2 ? new WeightPool(threads) : undefined;
  }

  /**
   * The pool shared by deferred weights (undefined below two cores): started early so its
   * workers are up when the work comes, closed once idle for SHARED_IDLE_MS.
   */
  static shared(): WeightPool | undefined {
    if (!shared && availableParallelism() >= 2) {
      const pool: WeightPool = new WeightPool(availableParallelism(), () => void pool.close());
      shared = pool;
    }
    return shared;
  }

  /** The codes and scales of a weight. */
  async quantize(task: WeightTask): Promise<WeightCodes> {
    const r = await this.post(task);
    return { values: r.values!, scales: r.scales };
  }

  /** Writes the codes of a weight into a file (from the worker); returns the scales. */
  async quantizeTo(task: WeightTask, target: WriteTarget): Promise<Float32Array> {
    return (await this.post(task, target)).scales;
  }

  private post(task: WeightTask, target?: WriteTarget): Promise<Reply & { error?: undefined }> {
    clearTimeout(this.idleTimer);
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const id = this.next++;
      const start = () => {
        const w = this.idle.pop()!;
        this.pending.set(id, { resolve, reject });
        w.ref();
        w.postMessage({ id, ...source(task), rows: task.rows, cols: task.cols, perColumn: task.perColumn, perChannel: task.perChannel, factor: task.factor, transpose: task.transpose, target });
      };
      if (this.idle.length) start();
      else this.queue.push({ start, reject });
    });
  }

  private settle(w: Worker, r: Reply): void {
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    w.unref();
    this.idle.push(w);
    this.queue.shift()?.start();
    this.armIdle();
    if (!p) return;
    if (r.error !== undefined) p.reject(new Error(r.error));
    else p.resolve(r);
  }

  private fail(err: Error): void {
    if (this.closing || this.failure) return;
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    for (const q of this.queue) q.reject(err);
    this.pending.clear();
    this.queue.length = 0;
    void this.close();
  }

  private armIdle(): void {
    if (!this.onIdle || this.pending.size > 0 || this.queue.length > 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(this.onIdle, SHARED_IDLE_MS).unref();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.idleTimer);
    if (shared === this) shared = undefined;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * The task's source as posted: a view of part of a larger buffer (a model read from memory)
 * is copied first, since posting a view clones its whole buffer.
 */
function source(task: WeightTask): { path: string; offset: number } | { bytes: Uint8Array } {
  if ('path' in task.source) return { path: task.source.path, offset: task.source.offset };
  const b = task.source.bytes;
  return { bytes: b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice() };
}
