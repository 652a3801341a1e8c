/**
 * Running models for calibration, sensitivity and per-layer diagnostics: batches from a data
 * set (or seeded random inputs) go through onnxruntime with chosen intermediate values
 * fetched. A model whose batch dimension is fixed to k runs in chunks of k (a trailing
 * partial chunk is left out, so padding never enters statistics or comparisons).
 */
import { InputError } from '../errors.ts';
import { checkDatasetFitsInput, toFloat32, type Dataset } from '../data/dataset.ts';
import { mulberry32 } from '../math/random.ts';
import { planFeeds } from '../runtime/latency.ts';
import { createSession, fixedBatch, inputSpec, runBatch, type Session } from '../runtime/ort.ts';
import * as ort from 'onnxruntime-node';
import { concatFloat32 as concat } from '../math/arrays.ts';

export interface FeedBatch {
  x: Float32Array;
  shape: number[];
}

/** The source of inputs: a data set (first `limit` samples) or random inputs. */
export type InputSource = { dataset: Dataset; limit: number; batchSize: number } | { random: true; batches: number; seed?: number };

export class Runner {
  private constructor(
    readonly session: Session,
    readonly inputName: string,
    readonly fixedBatch: number | undefined,
  ) {}

  static async open(bytes: Uint8Array, label: string): Promise<Runner> {
    const session = await createSession(bytes, { label, optimization: 'basic' });
    const names = session.ort.inputNames;
    return new Runner(session, names[0] ?? '', names.length === 1 ? fixedBatch(session) : undefined);
  }

  checkSingleInput(what: string): void {
    const names = this.session.ort.inputNames;
    if (names.length !== 1) throw new InputError(`${what} feeds one input from a data set, but the model has ${names.length} (${names.join(', ')})`);
  }

  /** Fetches `names` for one batch; with a fixed batch size, chunk outputs are concatenated. */
  async run(batch: FeedBatch, names: readonly string[]): Promise<Map<string, Float32Array>> {
    const n = batch.shape[0]!;
    const k = this.fixedBatch ?? n;
    const rowLen = n ? batch.x.length / n : 0;
    const parts = new Map<string, Float32Array[]>(names.map((m) => [m, []]));
    const fetch = names.filter((m) => m !== this.inputName);
    for (let s = 0; s + k <= n; s += k) {
      const data = batch.x.subarray(s * rowLen, (s + k) * rowLen);
      const feeds = { [this.inputName]: new ort.Tensor('float32', data, [k, ...batch.shape.slice(1)]) };
      const out = fetch.length ? await runBatch(this.session, feeds, fetch) : {};
      for (const m of names) parts.get(m)!.push(m === this.inputName ? data : asFloat(out[m]!));
    }
    return new Map([...parts].map(([m, p]) => [m, concat(p)]));
  }

  /** Fetches `names` for seeded random inputs (for models without data). */
  async runRandom(names: readonly string[], seed: number): Promise<Map<string, Float32Array>> {
    const { feeds } = planFeeds(this.session, 1, mulberry32(seed));
    const fetch = names.filter((m) => !(m in feeds));
    const out = { ...feeds, ...(fetch.length ? await runBatch(this.session, feeds, fetch) : {}) };
    return new Map(names.map((m) => [m, asFloat(out[m]!)]));
  }

  async release(): Promise<void> {
    await this.session.ort.release();
  }
}

/** Calls `fn` for each batch of the source, with what the model fetched for it. */
export async function forEachBatch(
  runner: Runner,
  source: InputSource,
  names: readonly string[],
  fn: (out: Map<string, Float32Array>, batch: FeedBatch | undefined) => void | Promise<void>,
): Promise<number> {
  let samples = 0;
  if ('random' in source) {
    for (let i = 0; i < source.batches; i++) {
      await fn(await runner.runRandom(names, (source.seed ?? 1) + i), undefined);
      samples++;
    }
    return samples;
  }
  runner.checkSingleInput('calibration');
  const ds = source.dataset;
  const spec = inputSpec(runner.session);
  if (spec) checkDatasetFitsInput(ds, spec);
  const size = runner.fixedBatch ? Math.max(runner.fixedBatch, Math.floor(source.batchSize / runner.fixedBatch) * runner.fixedBatch) : source.batchSize;
  for await (const b of ds.batches(size, { limit: source.limit })) {
    const batch = { x: toFloat32(b.x, ds.x.dtype), shape: b.shape };
    await fn(await runner.run(batch, names), batch);
    samples += b.shape[0]!;
  }
  return samples;
}

function asFloat(t: ort.Tensor): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  if (typeof d[0] === 'string') throw new InputError(`value of type ${t.type} is not numeric`);
  return Float32Array.from(d as ArrayLike<number | bigint>, Number);
}
