/**
 * onnxruntime-node runner. Knows nothing about how the model bytes were produced: it takes a
 * path or bytes, and turns every ORT failure into a one-line InputError naming the model.
 */
import * as ort from 'onnxruntime-node';
import { InputError } from '../errors.ts';
import { fromHalfBits, toHalf } from '../math/float16.ts';
import { concatFloat32 as concat } from '../math/arrays.ts';

export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  /** Intra-op threads; 0 or absent lets ORT choose (one per physical core). */
  threads?: number;
  /** ORT graph optimizations; default 'all'. */
  optimization?: OptimizationLevel;
  /** Names bytes in error messages (a path names itself); default 'model'. */
  label?: string;
}

export interface Session {
  readonly label: string;
  readonly ort: ort.InferenceSession;
}

export type Tensor = ort.Tensor;
export type Feeds = Record<string, ort.Tensor>;

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? 'unknown error';
}

function rejected(label: string, err: unknown): InputError {
  return new InputError(`onnxruntime rejected ${label}: ${firstLine(err)}`, { cause: err });
}

export async function createSession(model: Uint8Array | string, opts: SessionOptions = {}): Promise<Session> {
  const label = typeof model === 'string' ? model : (opts.label ?? 'model');
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    // Sequential: operators run one at a time, so latency reflects one core pool, not a race.
    executionMode: 'sequential',
    graphOptimizationLevel: opts.optimization ?? 'all',
    // 3 = errors only: ORT otherwise prints warnings to stderr and library code never prints.
    logSeverityLevel: 3,
  };
  try {
    const session = typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
    return { label, ort: session };
  } catch (err) {
    throw rejected(label, err);
  }
}

/** The first input as a data set has to fit it (unnamed symbolic dims as '?'); undefined unless it is a tensor. */
export function inputSpec(session: Session): { name: string; dtype: string; shape: (number | string)[] } | undefined {
  const m = session.ort.inputMetadata[0];
  if (!m?.isTensor) return undefined;
  return { name: m.name, dtype: m.type, shape: m.shape.map((d) => (typeof d === 'number' ? d : d || '?')) };
}

/** The first input's batch dimension when the model fixes it (> 0), else undefined. */
export function fixedBatch(session: Session): number | undefined {
  const d0 = inputSpec(session)?.shape[0];
  return typeof d0 === 'number' && d0 > 0 ? d0 : undefined;
}

/** One run; `fetches` limits the outputs computed and returned (default: all). */
export async function runBatch(session: Session, feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, ort.Tensor>> {
  try {
    const out = fetches ? await session.ort.run(feeds, fetches) : await session.ort.run(feeds);
    return out as Record<string, ort.Tensor>;
  } catch (err) {
    throw rejected(session.label, err);
  }
}

export interface Batch {
  /** Row-major samples; `shape[0]` is the number of samples. */
  x: Float32Array;
  shape: readonly number[];
  /** Labels, one per sample, passed through untouched. */
  y?: ArrayLike<number | bigint>;
}

export interface BatchOutput {
  /** The selected output as float32, row-major, `shape[0]` = samples of the batch. */
  output: Float32Array;
  shape: number[];
  y?: ArrayLike<number | bigint>;
}

export interface DatasetOptions {
  /** Output to collect; default the model's first output. */
  output?: string;
}

function tensorMeta(session: Session, list: readonly ort.InferenceSession.ValueMetadata[], name: string, kind: string) {
  const meta = list.find((m) => m.name === name);
  if (!meta) throw new InputError(`${session.label} has no ${kind} named "${name}"`);
  if (!meta.isTensor) throw new InputError(`${session.label}: ${kind} "${name}" is not a tensor`);
  return meta;
}

function toFloat32(t: ort.Tensor, label: string): Float32Array {
  const data = t.data;
  if (data instanceof Float32Array) return data;
  if (t.type === 'float16') return Float32Array.from(data as Uint16Array, fromHalfBits);
  if (typeof data === 'string' || (Array.isArray(data) && typeof data[0] === 'string')) {
    throw new InputError(`${label}: output of type ${t.type} is not numeric`);
  }
  return Float32Array.from(data as ArrayLike<number | bigint>, Number);
}

/**
 * Streams batches through the model's single input and yields the selected output per batch.
 * A model whose leading input dim is fixed to k (often 1) gets chunks of k samples, the last
 * one zero-padded, and the padded rows' outputs are dropped.
 */
export async function* runDataset(
  session: Session,
  batches: AsyncIterable<Batch> | Iterable<Batch>,
  opts: DatasetOptions = {},
): AsyncGenerator<BatchOutput> {
  const names = session.ort.inputNames;
  if (names.length !== 1) {
    throw new InputError(`${session.label} has ${names.length} inputs (${names.join(', ')}); a data set feeds exactly one`);
  }
  const input = tensorMeta(session, session.ort.inputMetadata, names[0]!, 'input');
  if (input.type !== 'float32' && input.type !== 'float16') {
    throw new InputError(`${session.label}: input "${input.name}" is ${input.type}; data sets feed float32 or float16 inputs`);
  }
  const outName = opts.output ?? session.ort.outputNames[0]!;
  tensorMeta(session, session.ort.outputMetadata, outName, 'output');
  const fixed = typeof input.shape[0] === 'number' && input.shape[0] > 0 ? input.shape[0] : undefined;

  let index = 0;
  for await (const batch of batches) {
    checkBatch(session.label, input, batch, index);
    const n = batch.shape[0]!;
    const run = async (x: Float32Array, rows: number): Promise<ort.Tensor> => {
      const dims = [rows, ...batch.shape.slice(1)];
      const tensor = input.type === 'float16' ? new ort.Tensor('float16', toHalf(x), dims) : new ort.Tensor('float32', x, dims);
      return (await runBatch(session, { [input.name]: tensor }, [outName]))[outName]!;
    };
    if (fixed === undefined || fixed === n) {
      const t = await run(batch.x, n);
      yield { output: toFloat32(t, `${session.label} output "${outName}"`), shape: [...t.dims], y: batch.y };
    } else {
      yield await runChunked(session.label, outName, batch, fixed, run);
    }
    index++;
  }
}

async function runChunked(
  label: string,
  outName: string,
  batch: Batch,
  k: number,
  run: (x: Float32Array, rows: number) => Promise<ort.Tensor>,
): Promise<BatchOutput> {
  const n = batch.shape[0]!;
  const rowIn = n === 0 ? 0 : batch.x.length / n;
  const parts: Float32Array[] = [];
  let rest: number[] = [];
  for (let start = 0; start < n; start += k) {
    const take = Math.min(k, n - start);
    let x = batch.x.subarray(start * rowIn, (start + take) * rowIn);
    if (take < k) {
      const padded = new Float32Array(k * rowIn);
      padded.set(x);
      x = padded;
    }
    const t = await run(x, k);
    if (t.dims[0] !== k) {
      throw new InputError(`${label}: output "${outName}" has shape [${t.dims.join(', ')}]; cannot split it into ${k} samples`);
    }
    rest = t.dims.slice(1);
    const out = toFloat32(t, `${label} output "${outName}"`);
    parts.push(out.subarray(0, take * (out.length / k)));
  }
  return { output: concat(parts), shape: [n, ...rest], y: batch.y };
}

function checkBatch(label: string, input: ort.InferenceSession.TensorValueMetadata, batch: Batch, index: number): void {
  const where = `${label}: data set batch ${index}`;
  const { shape, x } = batch;
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.length === 0 || x.length !== count) {
    throw new InputError(`${where} has ${x.length} values for shape [${shape.join(', ')}]`);
  }
  const want = input.shape;
  const fits = want.length === 0 || (want.length === shape.length && want.every((d, i) => i === 0 || typeof d !== 'number' || d < 0 || d === shape[i]));
  if (!fits) {
    throw new InputError(`${where} has shape [${shape.join(', ')}] but input "${input.name}" expects [${want.map((d) => (d === '' ? '?' : d)).join(', ')}]`);
  }
  if (batch.y !== undefined && batch.y.length !== shape[0]) {
    throw new InputError(`${where} has ${batch.y.length} labels for ${shape[0]} samples`);
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
  return { output: concat(parts), shape: [rows, ...rest], ...(labels && rows > 0 ? { labels } : {}) };
}
