/**
 * Per-column symmetric int8 codes of dynamic-quantization weights, and their deferral:
 * a quantized model holds `DeferredWeight`s whose codes and scales are computed only when
 * read or saved. Saving a large model then quantizes each weight on a worker that writes its
 * codes straight into the output file while the main thread writes the rest, instead of
 * quantizing everything first and writing it afterwards.
 */
import { isFileSlice, readChunk, type ComputedChunk, type WriteTarget } from '../../onnx/chunk.ts';
import { readFloat32Into } from '../../ir/tensor-pieces.ts';
import type { Tensor } from '../../ir/tensor.ts';
import { transpose } from '../../math/arrays.ts';
import { WeightPool, type WeightTask } from '../kernels/parallel.ts';
import { quantizePerChannelSymmetric, quantizePerTensorSymmetric, sharedKernels, symmetricScale } from '../scales.ts';

export interface DynamicWeight {
  /** [K, N] codes. */
  values: Int8Array;
  scales: Float32Array;
  k: number;
  n: number;
}

/**
 * Per-column symmetric int8 of a [K, N] weight (or of the transpose of an [N, K] one),
 * times `factor`; per tensor when `perChannel` is false. With the SIMD kernels, the weight
 * is read straight from its file (or buffer) into kernel memory: one pass for the column
 * maxima, one for the codes, and nothing else allocated.
 */
export function quantizeDynamicWeight(t: Tensor, transposed: boolean, perChannel: boolean, factor = 1): DynamicWeight {
  const [r, c] = [t.dims[0]!, t.dims[1]!];
  const k = transposed ? c : r;
  const n = transposed ? r : c;
  const kern = sharedKernels();
  if (!kern) return quantizeDynamicScalar(t.toFloat32(), t.dims, transposed, perChannel, factor);
  const input = kern.input(r * c);
  readFloat32Into(t, input);
  if (factor !== 1) for (let i = 0; i < input.length; i++) input[i] = input[i]! * factor;
  // Stored [K, N]: channels are columns. Stored [N, K] (transposed): channels are rows.
  const perColumn = !transposed;
  let maxAbs = kern.maxAbs(r, c, perColumn);
  if (!perChannel) maxAbs = new Float32Array(maxAbs.length).fill(maxAbs.reduce((a, b) => (b > a ? b : a), 0));
  const scales = Float32Array.from(maxAbs, (m) => symmetricScale(m, 127));
  const codes = kern.quantize(r, c, scales, perColumn);
  return { values: transposed ? transpose(codes, r, c) : codes, scales: perChannel ? scales : scales.slice(0, 1), k, n };
}

/** The same codes without SIMD. */
export function quantizeDynamicScalar(data: Float32Array, dims: readonly number[], transposed: boolean, perChannel: boolean, factor = 1): DynamicWeight {
  const [r, c] = [dims[0]!, dims[1]!];
  const scaled = factor === 1 ? data : data.map((v) => v * factor);
  const q = perChannel ? quantizePerChannelSymmetric(scaled, dims, transposed ? 0 : 1) : quantizePerTensorSymmetric(scaled);
  const scales = 'scales' in q ? q.scales : Float32Array.of(q.scale);
  return { values: transposed ? transpose(q.values, r, c) : q.values, scales, k: transposed ? c : r, n: transposed ? r : c };
}

const asBytes = (a: Int8Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * One weight's quantization, done when its codes or scales are first needed. `codes` and
 * `scales` are the payloads of the two initializers. Read, they are computed on this thread;
 * produced with `parallel`, on the shared worker pool; either way they are kept. Saved with
 * `parallel`, when the codes' offset in the file is known first (initializers are written in
 * order), the worker writes them there itself and only the scales come back.
 */
export class DeferredWeight {
  readonly k: number;
  readonly n: number;
  readonly codes: ComputedChunk;
  readonly scales: ComputedChunk;
  /** Scales, and the codes unless a worker wrote them to a file instead of returning them. */
  private result?: { values?: Int8Array; scales: Float32Array };
  /** The job on the pool, while it runs. */
  private job?: Promise<unknown>;

  /**
   * `parallel`: quantize on the worker pool when saved (for large float32 weights; the pool
   * is started now, so its workers are up by then).
   */
  constructor(
    private readonly t: Tensor,
    private readonly transposed: boolean,
    private readonly perChannel: boolean,
    private readonly factor: number,
    private readonly parallel: boolean,
  ) {
    const [r, c] = [t.dims[0]!, t.dims[1]!];
    this.k = transposed ? c : r;
    this.n = transposed ? r : c;
    if (parallel) WeightPool.shared();
    this.codes = {
      length: this.k * this.n,
      read: () => asBytes(this.computed().values),
      produce: async (into) => {
        if (this.job) await this.job; // started by the scales (codes kept) or by another save
        if (this.result?.values) return asBytes(this.result.values);
        const task = this.task();
        if (!task) return asBytes(this.computed().values);
        await this.run(task, into);
        return this.result!.values && asBytes(this.result!.values);
      },
    };
    this.scales = {
      length: 4 * (perChannel ? this.n : 1),
      read: () => asBytes(this.computed().scales),
      produce: async () => {
        if (this.job) await this.job;
        if (this.result) return asBytes(this.result.scales);
        const task = this.task();
        if (!task) return asBytes(this.computed().scales);
        // Asked for before the codes' place in the file: the codes come back and are kept.
        await this.run(task);
        return asBytes(this.result!.scales);
      },
    };
  }

  /** Codes and scales computed on this thread, kept for later reads. */
  private computed(): { values: Int8Array; scales: Float32Array } {
    if (!this.result?.values) this.result = quantizeDynamicWeight(this.t, this.transposed, this.perChannel, this.factor);
    return this.result as { values: Int8Array; scales: Float32Array };
  }

  /** The worker task, when this weight is quantized on the pool. */
  private task(): WeightTask | undefined {
    const p = this.t.payload;
    if (!this.parallel || this.t.dtype !== 'float32' || p.kind !== 'raw' || !WeightPool.shared()) return undefined;
    const source = isFileSlice(p.chunk) ? { path: p.chunk.path, offset: p.chunk.offset } : { bytes: readChunk(p.chunk) };
    const [rows, cols] = [this.t.dims[0]!, this.t.dims[1]!];
    return { source, rows, cols, perColumn: !this.transposed, perChannel: this.perChannel, factor: this.factor, transpose: this.transposed };
  }

  /** Runs `task` on the pool (codes written to `target`, or returned and kept); sets `job` at once, so a later call waits for it. */
  private async run(task: WeightTask, target?: WriteTarget): Promise<void> {
    const pool = WeightPool.shared()!;
    const job = target ? pool.quantizeTo(task, target).then((scales) => ({ scales })) : pool.quantize(task);
    this.job = job;
    try {
      this.result = await job;
    } finally {
      if (this.job === job) this.job = undefined;
    }
  }
}
