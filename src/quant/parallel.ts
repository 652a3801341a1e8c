/**
 * Weight quantization on worker threads, for models whose weights run to hundreds of MB:
 * each worker reads a weight straight from its file into its own SIMD kernel memory,
 * quantizes it, and hands back the int8 codes (transferred, not copied). Nothing but the
 * codes reaches the main thread, so peak memory is the output plus one weight per worker.
 *
 * The worker is plain JavaScript evaluated from a string (so it runs the same under tsx,
 * vitest and the compiled package) and repeats the kernels' contract from simd.ts/scales.ts:
 * scale = float32(max|w| / 127), or 1 for an all-zero channel; codes from the same wasm.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
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
function ensure(bytes) {
  const have = x.memory.buffer.byteLength;
  if (bytes > have) x.memory.grow(Math.ceil((bytes - have) / 65536));
}
parentPort.on('message', (t) => {
  try {
    const n = t.rows * t.cols;
    const channels = t.perColumn ? t.cols : t.rows;
    const chAt = align(n * 4);
    const outAt = align(chAt + channels * 4);
    ensure(outAt + n);
    const bytes = new Uint8Array(x.memory.buffer, 0, n * 4);
    if (t.path !== undefined) {
      const fd = fs.openSync(t.path, 'r');
      try {
        for (let done = 0; done < bytes.length; ) {
          const r = fs.readSync(fd, bytes, done, bytes.length - done, t.offset + done);
          if (r === 0) throw new Error('unexpected end of file at byte ' + (t.offset + done) + ' of ' + t.path);
          done += r;
        }
      } finally {
        fs.closeSync(fd);
      }
    } else bytes.set(t.bytes);
    const f = new Float32Array(x.memory.buffer, 0, n);
    if (t.factor !== 1) for (let i = 0; i < n; i++) f[i] = f[i] * t.factor;
    const ch = new Float32Array(x.memory.buffer, chAt, channels);
    ch.fill(0);
    if (t.perColumn) x.colAbsMax(0, t.rows, t.cols, chAt);
    else x.rowAbsMax(0, t.rows, t.cols, chAt);
    if (!t.perChannel) ch.fill(ch.reduce((a, b) => (b > a ? b : a), 0));
    for (let i = 0; i < channels; i++) {
      const s = Math.fround(ch[i] / 127);
      ch[i] = s > 0 && Number.isFinite(s) ? s : 1;
    }
    if (t.perColumn) x.quantizeCols(0, t.rows, t.cols, chAt, outAt);
    else x.quantizeRows(0, t.rows, t.cols, chAt, outAt);
    const values = new Int8Array(new Int8Array(x.memory.buffer, outAt, n));
    const scales = t.perChannel ? Float32Array.from(ch) : Float32Array.of(ch[0]);
    parentPort.postMessage({ id: t.id, values, scales }, [values.buffer, scales.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: t.id, error: String((e && e.message) || e) });
  }
});
`;

type Reply = { id: number; values: Int8Array; scales: Float32Array; error?: undefined } | { id: number; error: string };

export class WeightPool {
  private readonly workers: Worker[];
  private readonly idle: Worker[];
  private readonly queue: Array<() => void> = [];
  private readonly pending = new Map<number, { resolve: (c: WeightCodes) => void; reject: (e: Error) => void }>();
  private next = 0;

  private constructor(threads: number) {
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(WORKER, { eval: true, workerData: { wasm: WASM_BASE64 } });
      w.on('message', (r: Reply) => this.settle(w, r));
      w.on('error', (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      return w;
    });
    this.idle = [...this.workers];
  }

  /** A pool of `threads` workers (default: one per available core), or undefined below two. */
  static create(threads = availableParallelism()): WeightPool | undefined {
    return threads >= 2 ? new WeightPool(threads) : undefined;
  }

  quantize(task: WeightTask): Promise<WeightCodes> {
    return new Promise((resolve, reject) => {
      const id = this.next++;
      const start = () => {
        const w = this.idle.pop()!;
        this.pending.set(id, { resolve, reject });
        const src = 'path' in task.source ? { path: task.source.path, offset: task.source.offset } : { bytes: task.source.bytes };
        w.postMessage({ id, ...src, rows: task.rows, cols: task.cols, perColumn: task.perColumn, perChannel: task.perChannel, factor: task.factor });
      };
      if (this.idle.length) start();
      else this.queue.push(start);
    });
  }

  private settle(w: Worker, r: Reply): void {
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    this.idle.push(w);
    this.queue.shift()?.();
    if (!p) return;
    if (r.error !== undefined) p.reject(new Error(r.error));
    else p.resolve({ values: r.values, scales: r.scales });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
