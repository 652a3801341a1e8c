/**
 * The one way a data set goes through a model: batches feed the model's inputs (planned by
 * data-feeds.ts: arrays by input name, constants, zero state, or x for a single input),
 * chosen values (graph outputs, captured intermediates or fed inputs) come back as float32.
 * Evaluation, calibration, Hessians, bias compensation and distillation all use it, on any
 * runtime.
 *
 * A model whose leading input dim is fixed to k runs in chunks of k (one sample per run when
 * an input has no sample axis). A short last chunk is zero-padded and the padded rows are cut
 * from every value whose leading dim is k; a value not laid out by sample (a [K, M]
 * transpose, a pooled scalar) cannot be separated from the padding, so it is left out of that
 * chunk rather than polluted by it.
 */
import { classLabels, toFloat32, type Dataset } from '../data/dataset.ts';
import type { ArrayInfo } from '../data/batch.ts';
import type { NpArray, NpDtype } from '../data/npy.ts';
import { InputError } from '../errors.ts';
import { concatFloat32 } from '../math/arrays.ts';
import { fromHalfBits } from '../math/float16.ts';
import type { TypedArray } from '../onnx/dtype.ts';
import { castTo, fixedTensor, planDataFeeds, type ArrayFeed, type FeedPlan, type FixedFeed } from './data-feeds.ts';
import type { GraphSession, HostTensor } from './types.ts';

/** One array of a batch, as stored: `shape[0]` is the number of samples. */
export interface BatchArray {
  data: TypedArray;
  dtype: NpDtype;
  shape: readonly number[];
}

export interface Batch {
  /** Row-major samples; `shape[0]` is the number of samples. */
  x: Float32Array;
  shape: readonly number[];
  /** Labels, one per sample, passed through untouched. */
  y?: ArrayLike<number | bigint>;
  /** Every array of the data set for these samples, by name (x among them); absent: x alone. */
  arrays?: Readonly<Record<string, BatchArray>>;
  /** Values fed whole to every run, by input name. */
  constants?: Readonly<Record<string, NpArray>>;
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

/**
 * A data set's samples as float32 batches (with every array as stored, for models with
 * several inputs); with `labels`, also its class labels when it has them (statistics such
 * as calibration never read y, so a regression target does not stop them).
 */
export async function* floatBatches(ds: Dataset, batchSize: number, limit?: number, labels = false): AsyncGenerator<Batch> {
  for await (const b of ds.batches(batchSize, { limit })) {
    const n = b.shape[0]!;
    const arrays = b.arrays && ds.arrays ? Object.fromEntries(Object.entries(b.arrays).map(([name, data]) => [name, { data, dtype: ds.arrays![name]!.dtype, shape: [n, ...ds.arrays![name]!.shape.slice(1)] }])) : undefined;
    yield { x: toFloat32(b.x, ds.x.dtype), shape: b.shape, y: labels && ds.y ? classLabels(ds, b) : undefined, ...(arrays && { arrays }), ...(ds.constants && { constants: ds.constants }) };
  }
}

/** How `ds` feeds `session` (throws InputError naming what does not fit): the check before running. */
export function planDataset(session: Pick<GraphSession, 'label' | 'inputs' | 'outputs'>, ds: Dataset): FeedPlan {
  return planDataFeeds(session, ds.arrays ?? { x: ds.x }, ds.constants ?? {}, ds.path);
}

/** A runtime value as float32 (16-bit floats decoded, integers converted). */
export function asFloat32(t: HostTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.dtype === 'float16') return Float32Array.from(t.data as Uint16Array, fromHalfBits);
  return Float32Array.from(t.data as ArrayLike<number | bigint>, Number);
}

const batchArrays = (b: Batch): Readonly<Record<string, BatchArray>> => b.arrays ?? { x: { data: b.x, dtype: 'float32', shape: b.shape } };

function checkBatch(label: string, batch: Batch, index: number): void {
  const where = `${label}: data set batch ${index}`;
  const n = batch.shape[0];
  for (const a of Object.values(batchArrays(batch))) {
    const count = a.shape.reduce((p, d) => p * d, 1);
    if (a.shape.length === 0 || a.data.length !== count) throw new InputError(`${where} has ${a.data.length} values for shape [${a.shape.join(', ')}]`);
    if (a.shape[0] !== n) throw new InputError(`${where} has arrays of ${a.shape[0]} and ${n} samples`);
  }
  if (batch.y !== undefined && batch.y.length !== n) throw new InputError(`${where} has ${batch.y.length} labels for ${n} samples`);
}

/** The plan for a stream's first batch: its arrays' names, dtypes and per-sample shapes. */
export function planBatch(session: Pick<GraphSession, 'label' | 'inputs' | 'outputs'>, batch: Batch): FeedPlan {
  const infos: Record<string, ArrayInfo> = {};
  for (const [name, a] of Object.entries(batchArrays(batch))) infos[name] = { dtype: a.dtype, shape: [...a.shape] };
  return planDataFeeds(session, infos, batch.constants ?? {}, session.label);
}

/** Rows [start, start + rows) of an array, zero-padded to `chunk` rows, in the input's dtype and shape. */
function arrayTensor(f: ArrayFeed, a: BatchArray, start: number, rows: number, chunk: number): HostTensor {
  const rowLen = a.shape.slice(1).reduce((p, d) => p * d, 1);
  let data = a.data.subarray(start * rowLen, (start + rows) * rowLen);
  if (rows < chunk) {
    const padded = new (data.constructor as new (n: number) => TypedArray)(chunk * rowLen);
    (padded as { set(v: ArrayLike<unknown>): void }).set(data as ArrayLike<unknown>);
    data = padded;
  }
  const dims = f.batched ? [chunk, ...a.shape.slice(1)] : a.shape.slice(1);
  return { dtype: f.dtype, dims, data: castTo(f.dtype, data, a.dtype) };
}

/** Sizes the array-fed inputs give their free dims, to shape constants and zero state alike. */
function boundDims(plan: FeedPlan, feeds: Readonly<Record<string, HostTensor>>): Map<string, number> {
  const bound = new Map<string, number>();
  for (const f of plan.feeds) {
    if (f.kind !== 'array') continue;
    f.shape.forEach((d, axis) => {
      if (typeof d === 'string' && d !== '') bound.set(d, feeds[f.input]!.dims[axis]!);
    });
  }
  return bound;
}

/**
 * The model's inputs for rows [start, start + rows) of `batch`, padded to `chunk` rows:
 * arrays by plan, then constants and zero state shaped by the dims the arrays bind.
 */
export function batchFeeds(label: string, plan: FeedPlan, batch: Batch, start: number, rows: number, chunk: number): Record<string, HostTensor> {
  const arrays = batchArrays(batch);
  const feeds: Record<string, HostTensor> = {};
  for (const f of plan.feeds) if (f.kind === 'array') feeds[f.input] = arrayTensor(f, arrays[f.array]!, start, rows, chunk);
  const bound = boundDims(plan, feeds);
  for (const f of plan.feeds) if (f.kind !== 'array') feeds[f.input] = fixedTensor(label, f as FixedFeed, chunk, bound);
  return feeds;
}

/** Streams `batches` through the model's inputs, fetching `fetches` (a fed input's name returns what it was fed). */
export async function* runBatches(session: GraphSession, batches: AsyncIterable<Batch> | Iterable<Batch>, fetches: readonly string[]): AsyncGenerator<BatchResult> {
  let plan: FeedPlan | undefined;
  const inputs = new Set(session.inputs.map((i) => i.name));
  const asked = fetches.filter((f) => !inputs.has(f));
  let index = 0;
  for await (const batch of batches) {
    checkBatch(session.label, batch, index++);
    plan ??= planBatch(session, batch);
    const n = batch.shape[0]!;
    const chunk = plan.chunk ?? n;
    // Without a sample axis (one sample per run), each value gets a leading axis of 1.
    const perSample = plan.feeds.every((f) => f.kind !== 'array' || !f.batched);
    const parts = new Map<string, { data: Float32Array[]; dims: number[] }>();
    const keep = (name: string, data: Float32Array, dims: readonly number[]) => {
      const p = parts.get(name) ?? { data: [], dims: [0, ...dims.slice(1)] };
      p.data.push(data);
      p.dims[0] = p.dims[0]! + (dims[0] ?? 1);
      parts.set(name, p);
    };
    for (let start = 0; start < n || (n === 0 && start === 0); start += Math.max(chunk, 1)) {
      const rows = Math.min(chunk, n - start);
      const feeds = batchFeeds(session.label, plan, batch, start, rows, chunk);
      const out = { ...feeds, ...(asked.length ? await session.run(feeds, asked) : {}) };
      for (const name of fetches) {
        const t = out[name]!;
        const data = asFloat32(t);
        const dims = perSample ? [1, ...t.dims] : t.dims;
        if (rows === chunk) keep(name, data, dims);
        else if (dims[0] === chunk) keep(name, data.subarray(0, rows * (data.length / chunk)), [rows, ...dims.slice(1)]);
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
