/**
 * Running models for calibration, sensitivity and per-layer diagnostics: batches from a data
 * set (or seeded random inputs) go through the runtime with chosen intermediate values
 * fetched, by the one batching policy of runtime/batches.ts.
 */
import type { Dataset } from '../../data/dataset.ts';
import type { InputValues } from '../../data/input-values.ts';
import type { Model } from '../../ir/model.ts';
import { mulberry32 } from '../../math/random.ts';
import { asFloat32, floatBatches, planDataset, runBatches, type Batch } from '../../runtime/batches.ts';
import { planFeeds } from '../../runtime/feeds.ts';
import { createSession } from '../../runtime/ort.ts';
import type { InputShapes } from '../../runtime/shapes.ts';
import type { GraphSession } from '../../runtime/types.ts';

/** The source of inputs: a data set (first `limit` samples) or random inputs. */
export type InputSource =
  | { dataset: Dataset; limit: number; batchSize: number }
  | { random: true; batches: number; seed?: number; values?: InputValues; shapes?: InputShapes };

/**
 * A session for statistics: basic optimizations keep every captured value in the graph, and no
 * weight prepacking — onnxruntime keeps a packed copy of each MatMul weight beside the original,
 * which doubled the resident size of the 1 GiB generated model, for runs that are not timed.
 */
export function openRunner(model: Model | Uint8Array | string, label: string): Promise<GraphSession> {
  return createSession(model, { label, optimization: 'basic', prepack: false });
}

/** Fetches `names` for seeded random inputs (for models without data). */
async function runRandom(session: GraphSession, names: readonly string[], seed: number, values?: InputValues, shapes: InputShapes = {}): Promise<Map<string, Float32Array>> {
  const { feeds } = planFeeds(session, 1, mulberry32(seed), shapes, {}, values);
  const fetch = names.filter((m) => !(m in feeds));
  const out = { ...feeds, ...(fetch.length ? await session.run(feeds, fetch) : {}) };
  return new Map(names.map((m) => [m, asFloat32(out[m]!)]));
}

/** Calls `fn` for each batch of the source, with what the model fetched for it. */
export async function forEachBatch(
  session: GraphSession,
  source: InputSource,
  names: readonly string[],
  fn: (out: Map<string, Float32Array>, batch: Batch | undefined) => void | Promise<void>,
): Promise<number> {
  let samples = 0;
  if ('random' in source) {
    for (let i = 0; i < source.batches; i++) {
      await fn(await runRandom(session, names, (source.seed ?? 1) + i, source.values, source.shapes), undefined);
      samples++;
    }
    return samples;
  }
  for await (const { batch, values } of datasetRuns(session, source, names)) {
    await fn(flat(values), batch);
    samples += batch.shape[0]!;
  }
  return samples;
}

const flat = (values: ReadonlyMap<string, { data: Float32Array }>) => new Map([...values].map(([name, v]) => [name, v.data]));

/** The source's batches through the session, sized to a multiple of the model's fixed batch dim if it has one. */
function datasetRuns(session: GraphSession, source: Extract<InputSource, { dataset: Dataset }>, names: readonly string[]) {
  const k = planDataset(session, source.dataset).chunk;
  const size = k ? Math.max(k, Math.floor(source.batchSize / k) * k) : source.batchSize;
  return runBatches(session, floatBatches(source.dataset, size, source.limit), names);
}

/**
 * Two models with the same inputs run on the same batches in lock step: `fn` gets what each
 * fetched for one batch, and nothing of other batches is held (per-layer comparisons fetch
 * every layer's output, far more than a model's outputs).
 */
export async function forEachBatchPair(
  a: { session: GraphSession; names: readonly string[] },
  b: { session: GraphSession; names: readonly string[] },
  source: InputSource,
  fn: (fromA: Map<string, Float32Array>, fromB: Map<string, Float32Array>) => void,
): Promise<void> {
  if ('random' in source) {
    for (let i = 0; i < source.batches; i++) {
      const seed = (source.seed ?? 1) + i;
      fn(await runRandom(a.session, a.names, seed, source.values, source.shapes), await runRandom(b.session, b.names, seed, source.values, source.shapes));
    }
    return;
  }
  const runsA = datasetRuns(a.session, source, a.names);
  const runsB = datasetRuns(b.session, source, b.names);
  try {
    for (;;) {
      const [x, y] = [await runsA.next(), await runsB.next()];
      if (x.done || y.done) return;
      fn(flat(x.value.values), flat(y.value.values));
    }
  } finally {
    // Either side stopping early (an error, the other side done) still closes the data set's readers.
    await runsA.return(undefined);
    await runsB.return(undefined);
  }
}
