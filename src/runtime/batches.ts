/**
 * The one way a data set goes through a model: batches feed the model's single data input,
 * chosen values (graph outputs or captured intermediates) come back as float32. Evaluation,
 * calibration, Hessians, bias compensation and distillation all use it, on any runtime.
 *
 * A model whose leading input dim is fixed to k runs in chunks of k. A short last chunk is
 * zero-padded and the padded rows are cut from every value whose leading dim is k; a value
 * not laid out by sample (a [K, M] transpose, a pooled scalar) cannot be separated from the
 * padding, so it is left out of that chunk rather than polluted by it.
 */
import { classLabels, toFloat32, type Dataset } from '../data/dataset.ts';
import { InputError } from '../errors.ts';
import { concatFloat32 } from '../math/arrays.ts';
import { fromHalfBits, toHalf } from '../math/float16.ts';
import type { GraphSession, HostTensor, ValueSpec } from './types.ts';

export interface Batch {
  /** Row-major samples; `shape[0]` is the number of samples. */
  x: Float32Array;
  shape: readonly number[];
  /** Labels, one per sample, passed through untouched. */
  y?: ArrayLike<number | bigint>;
}

export interface FloatValue {
  data: Float32Array;
  dims: number[];
}

export interface BatchResult {
  batch: Batch;
  /** Each fetched value over the batch's samples (absent when no chunk could yield it). */
  values: Map<string, FloatValue>;
}

export interface DataInput {
  readonly name: string;
  readonly dtype: 'float32' | 'float16';
  readonly shape: readonly (number | string)[];
}

/**
 * A data set's samples as float32 batches; with `labels`, also its class labels when it has
 * them (statistics such as calibration never read y, so a regression target does not stop them).
 */
export async function* floatBatches(ds: Dataset, batchSize: number, limit?: number, labels = false): AsyncGenerator<Batch> {
  for await (const b of ds.batches(batchSize, { limit })) {
    yield { x: toFloat32(b.x, ds.x.dtype), shape: b.shape, y: labels && ds.y ? classLabels(ds, b) : undefined };
  }
}

/** The input a data set feeds: the model must have exactly one, of a float type. */
export function dataInput(session: Pick<GraphSession, 'label' | 'inputs'>): DataInput {
  const names = session.inputs.map((i) => i.name);
  if (names.length !== 1) throw new InputError(`${session.label} has ${names.length} inputs (${names.join(', ')}); a data set feeds exactly one`);
  const input = session.inputs[0]!;
  if (!input.shape) throw new InputError(`${session.label}: input "${input.name}" is not a tensor`);
  if (input.dtype !== 'float32' && input.dtype !== 'float16') {
    throw new InputError(`${session.label}: input "${input.name}" is ${input.dtype}; data sets feed float32 or float16 inputs`);
  }
  return { name: input.name, dtype: input.dtype, shape: input.shape };
}

/** The input's leading dim when the model fixes it (> 0), else undefined. */
export function fixedBatch(input: Pick<ValueSpec, 'shape'>): number | undefined {
  const d0 = input.shape?.[0];
  return typeof d0 === 'number' && d0 > 0 ? d0 : undefined;
}

/** A runtime value as float32 (16-bit floats decoded, integers converted). */
export function asFloat32(t: HostTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.dtype === 'float16') return Float32Array.from(t.data as Uint16Array, fromHalfBits);
  return Float32Array.from(t.data as ArrayLike<number | bigint>, Number);
}

function checkBatch(label: string, input: DataInput, batch: Batch, index: number): void {
  const where = `${label}: data set batch ${index}`;
  const { shape, x } = batch;
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.length === 0 || x.length !== count) throw new InputError(`${where} has ${x.length} values for shape [${shape.join(', ')}]`);
  const want = input.shape;
  const fits = want.length === 0 || (want.length === shape.length && want.every((d, i) => i === 0 || typeof d !== 'number' || d === shape[i]));
  if (!fits) throw new InputError(`${where} has shape [${shape.join(', ')}] but input "${input.name}" expects [${want.map((d) => (d === '' ? '?' : d)).join(', ')}]`);
  if (batch.y !== undefined && batch.y.length !== shape[0]) throw new InputError(`${where} has ${batch.y.length} labels for ${shape[0]} samples`);
}

/** Streams `batches` through the model's data input, fetching `fetches` (the input's own name returns the fed data). */
export async function* runBatches(session: GraphSession, batches: AsyncIterable<Batch> | Iterable<Batch>, fetches: readonly string[]): AsyncGenerator<BatchResult> {
  const input = dataInput(session);
  const k = fixedBatch(input);
  const asked = fetches.filter((f) => f !== input.name);
  let index = 0;
  for await (const batch of batches) {
    checkBatch(session.label, input, batch, index++);
    const n = batch.shape[0]!;
    const rowLen = n === 0 ? 0 : batch.x.length / n;
    const chunk = k ?? n;
    const parts = new Map<string, { data: Float32Array[]; dims: number[] }>();
    const keep = (name: string, data: Float32Array, dims: readonly number[]) => {
      const p = parts.get(name) ?? { data: [], dims: [0, ...dims.slice(1)] };
      p.data.push(data);
      p.dims[0] = p.dims[0]! + (dims[0] ?? 1);
      parts.set(name, p);
    };
    for (let start = 0; start < n || (n === 0 && start === 0); start += Math.max(chunk, 1)) {
      const rows = Math.min(chunk, n - start);
      let x = batch.x.subarray(start * rowLen, (start + rows) * rowLen);
      if (rows < chunk) {
        const padded = new Float32Array(chunk * rowLen);
        padded.set(x);
        x = padded;
      }
      const dims = [chunk, ...batch.shape.slice(1)];
      const feed: HostTensor = input.dtype === 'float16' ? { dtype: 'float16', dims, data: toHalf(x) } : { dtype: 'float32', dims, data: x };
      const out = asked.length ? await session.run({ [input.name]: feed }, asked) : {};
      for (const name of fetches) {
        if (name === input.name) {
          keep(name, x.subarray(0, rows * rowLen), [rows, ...batch.shape.slice(1)]);
          continue;
        }
        const t = out[name]!;
        const data = asFloat32(t);
        if (rows === chunk) keep(name, data, t.dims);
        else if (t.dims[0] === chunk) keep(name, data.subarray(0, rows * (data.length / chunk)), [rows, ...t.dims.slice(1)]);
      }
      if (n === 0) break;
    }
    const values = new Map([...parts].map(([name, p]) => [name, { data: concatFloat32(p.data), dims: p.dims }]));
    yield { batch, values };
  }
}

export interface BatchOutput {
  /** The selected output as float32, row-major, `shape[0]` = samples of the batch. */
  output: Float32Array;
  shape: number[];
  y?: ArrayLike<number | bigint>;
}

/** One output per batch (default the model's first): what evaluation reads. */
export async function* runDataset(session: GraphSession, batches: AsyncIterable<Batch> | Iterable<Batch>, opts: { output?: string } = {}): AsyncGenerator<BatchOutput> {
  dataInput(session);
  const name = opts.output ?? session.outputs[0]?.name ?? '';
  const spec = session.outputs.find((o) => o.name === name);
  if (!spec) throw new InputError(`${session.label} has no output named "${name}"`);
  if (!spec.dtype || spec.dtype === 'string') throw new InputError(`${session.label}: output "${name}" is not a numeric tensor`);
  for await (const { batch, values } of runBatches(session, batches, [name])) {
    const v = values.get(name);
    if (!v) throw new InputError(`${session.label}: output "${name}" is not laid out by sample; cannot cut the padding of a short last batch from it`);
    yield { output: v.data, shape: v.dims, y: batch.y };
  }
}

export interface Collected {
  output: Float32Array;
  shape: number[];
  /** Labels in order, when every batch had them. */
  labels?: number[];
}

/** Concatenates all batch outputs of `runDataset` (e.g. to keep a baseline's logits). */
export async function collectDataset(outputs: AsyncIterable<BatchOutput>): Promise<Collected> {
  const parts: Float32Array[] = [];
  let labels: number[] | undefined = [];
  let rows = 0;
  let rest: number[] = [];
  for await (const b of outputs) {
    parts.push(b.output);
    rows += b.shape[0]!;
    rest = b.shape.slice(1);
    if (b.y === undefined) labels = undefined;
    else if (labels) for (let i = 0; i < b.y.length; i++) labels.push(Number(b.y[i]));
  }
  return { output: concatFloat32(parts), shape: [rows, ...rest], ...(labels && rows > 0 ? { labels } : {}) };
}
