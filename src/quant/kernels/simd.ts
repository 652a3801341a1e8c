/**
 * WebAssembly SIMD kernels for weight quantization (per-channel max |w| and int8 codes), 4–16
 * lanes at a time: a 1 GB model's weights are converted at memory speed instead of scalar
 * JavaScript speed. The module is assembled from `kernels.wat` beside this file into
 * `generated/kernels-wasm.ts` (`npm run build:kernels`; a test fails when they differ).
 *
 * Results are bit-identical to the scalar definitions in scales.ts (codes are
 * nearest-even(float32(x / s)), clamped to ±127), which the tests check.
 */
import { WASM_BASE64 } from './generated/kernels-wasm.ts';

export { WASM_BASE64 };

/** The bits of the WebAssembly API used here (the project's lib settings do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

interface Exports {
  memory: WasmMemory;
  colAbsMax(src: number, k: number, n: number, dst: number): void;
  rowAbsMax(src: number, rows: number, cols: number, dst: number): void;
  quantizeCols(src: number, k: number, n: number, scales: number, dst: number): void;
  quantizeRows(src: number, rows: number, cols: number, scales: number, dst: number): void;
}

let module: object | undefined | null;

function compiled(): object | null {
  if (module === undefined) {
    try {
      module = wasm ? new wasm.Module(Buffer.from(WASM_BASE64, 'base64')) : null;
    } catch {
      module = null; // no SIMD support: callers use the scalar path
    }
  }
  return module;
}

const align = (n: number) => Math.ceil(n / 64) * 64;

/**
 * One kernel instance with its own memory, laid out as [float input | channel values |
 * int8 output]. Fill `input(count)` (e.g. read a tensor straight into it), then call a
 * kernel. Memory grows to the largest tensor seen; drop the instance to free it.
 */
export class Int8Kernels {
  private readonly x: Exports;
  private inputCount = 0;

  private constructor(instance: { exports: unknown }) {
    this.x = instance.exports as Exports;
  }

  /** A kernel instance, or undefined where WebAssembly SIMD is unavailable. */
  static create(): Int8Kernels | undefined {
    const m = compiled();
    return m && wasm ? new Int8Kernels(new wasm.Instance(m, {})) : undefined;
  }

  private ensure(bytes: number): void {
    const have = this.x.memory.buffer.byteLength;
    if (bytes > have) this.x.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** A view of the input area for `count` floats (valid until the next `input` call). */
  input(count: number): Float32Array {
    this.inputCount = count;
    this.ensure(align(count * 4));
    return new Float32Array(this.x.memory.buffer, 0, count);
  }

  private get channelsAt(): number {
    return align(this.inputCount * 4);
  }

  /** Per-column (`axis` = last of [k, n]) or per-row max |x| of the input. */
  maxAbs(rows: number, cols: number, perColumn: boolean): Float32Array {
    const channels = perColumn ? cols : rows;
    this.ensure(this.channelsAt + channels * 4);
    const out = new Float32Array(this.x.memory.buffer, this.channelsAt, channels);
    out.fill(0);
    if (perColumn) this.x.colAbsMax(0, rows, cols, this.channelsAt);
    else this.x.rowAbsMax(0, rows, cols, this.channelsAt);
    return out.slice();
  }

  /** Int8 codes of the input with per-column or per-row scales. */
  quantize(rows: number, cols: number, scales: Float32Array, perColumn: boolean): Int8Array {
    const at = this.channelsAt;
    const outAt = align(at + scales.length * 4);
    this.ensure(outAt + rows * cols);
    new Float32Array(this.x.memory.buffer, at, scales.length).set(scales);
    if (perColumn) this.x.quantizeCols(0, rows, cols, at, outAt);
    else this.x.quantizeRows(0, rows, cols, at, outAt);
    return new Int8Array(this.x.memory.buffer, outAt, rows * cols).slice();
  }
}
