/**
 * Kernels that run over the wasm backend's own memory. A few training ops are one pass over
 * a feature map with per-channel numbers, which the backend can only express as broadcasts
 * it runs element by element. They run as compiled loops (training-kernels.wat, embedded in
 * generated/training-kernels-wasm.ts by `npm run build:kernels`) that import the backend's
 * memory: inputs are read where the backend keeps them and outputs are allocated by the
 * backend's allocator, which reuses touched memory (a fresh 600 KB host array costs ~2 ms in
 * page faults on these machines). No copies either way. The same loops in TypeScript took
 * 32 % of a lenet5 training step's profile; compiled, 16 %.
 */
import * as tf from '@tensorflow/tfjs';
import { WASM_BASE64 } from './generated/training-kernels-wasm.ts';

/** The loops of training-kernels.wat; pointers are byte offsets into the backend's heap. */
export interface TrainingKernels {
  channelDots(a: number, b: number, outer: number, c: number, inner: number, sumA: number, sumAB: number): void;
  channelAffine(out: number, p: number, a: number, q: number, b: number, k: number, outer: number, c: number, inner: number): void;
  blockMaxGrad(x: number, y: number, dy: number, dx: number, n: number, h: number, w: number, c: number, kh: number, kw: number): void;
}

/** The bits of the WebAssembly API used here (the project's lib settings do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined };
  wasm: { asm: { memory: { buffer: ArrayBuffer } }; _malloc(bytes: number): number; _free(ptr: number): void };
}

function heapBackend(): HeapBackend {
  const b = tf.backend() as unknown as Partial<HeapBackend>;
  if (tf.getBackend() !== 'wasm' || !b.makeOutput || !b.dataIdMap || !b.wasm?.asm?.memory) throw new Error(`heap kernels need the wasm backend, not '${tf.getBackend()}'`);
  return b as HeapBackend;
}

let compiled: object | undefined;
const instances = new WeakMap<object, TrainingKernels>();

/** The kernels bound to this backend's memory (one instance per backend). */
function kernelsFor(backend: HeapBackend): TrainingKernels {
  let k = instances.get(backend);
  if (!k) {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    compiled ??= new wasm.Module(Buffer.from(WASM_BASE64, 'base64'));
    k = new wasm.Instance(compiled, { env: { memory: backend.wasm.asm.memory } }).exports as TrainingKernels;
    instances.set(backend, k);
  }
  return k;
}

/** What `fill` gets: pointers, views of the heap, and the kernels. */
export interface HeapCall {
  /** Byte offsets of the inputs and of the outputs. */
  ins: number[];
  outs: number[];
  /** Byte offset of the float64 scratch area (8-byte aligned). */
  scratch: number;
  f32(ptr: number, count: number): Float32Array;
  f64(ptr: number, count: number): Float64Array;
  kernels: TrainingKernels;
}

/**
 * Allocates float32 outputs of the given shapes and `scratch` float64 values on the backend,
 * then calls `fill`. Nothing is allocated during `fill`, so its views stay valid there; they
 * must not be kept past it (a later allocation may grow the heap and detach them).
 */
export function onHeap(inputs: readonly tf.Tensor[], shapes: readonly number[][], scratch: number, fill: (h: HeapCall) => void): tf.Tensor[] {
  const backend = heapBackend();
  for (const t of inputs) if (t.dtype !== 'float32') throw new Error(`heap kernels take float32 tensors, not ${t.dtype}`);
  const made = shapes.map((s) => backend.makeOutput([...s], 'float32'));
  const kernels = kernelsFor(backend);
  const scratchPtr = scratch > 0 ? backend.wasm._malloc(scratch * 8) : 0;
  try {
    const at = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset;
    const buffer = backend.wasm.asm.memory.buffer;
    fill({
      ins: inputs.map(at),
      outs: made.map(at),
      scratch: scratchPtr,
      f32: (ptr, count) => new Float32Array(buffer, ptr, count),
      f64: (ptr, count) => new Float64Array(buffer, ptr, count),
      kernels,
    });
  } finally {
    if (scratchPtr) backend.wasm._free(scratchPtr);
  }
  return made.map((t) => tf.engine().makeTensorFromTensorInfo(t));
}
