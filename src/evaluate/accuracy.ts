/**
 * Top-1 accuracy of a model on a labelled data set, run in onnxruntime: the number fallback
 * budgets, benchmarks and reports compare. Batches are streamed, so the data set is never
 * held in memory.
 */
import type { Dataset } from '../data/dataset.ts';
import { InputError } from '../errors.ts';
import { AccuracyMeter } from '../report/metrics.ts';
import { floatBatches, runDataset } from '../runtime/batches.ts';
import { createSession, type SessionOptions } from '../runtime/ort.ts';

export interface AccuracyOptions {
  /** Samples used (default: all). */
  limit?: number;
  /** Samples per run (default 256). */
  batchSize?: number;
  /** onnxruntime graph optimizations (default 'all'). */
  optimization?: SessionOptions['optimization'];
}

/** An `evaluate` callback: top-1 accuracy (fraction) of a model on a labelled data set. */
export function accuracyEvaluator(ds: Dataset, opts: AccuracyOptions = {}): (model: Uint8Array) => Promise<number> {
  if (!ds.y) throw new InputError(`${ds.path}: accuracy needs labels (y) in the evaluation data set`);
  return async (bytes) => {
    const session = await createSession(bytes, { label: 'the model under evaluation', optimization: opts.optimization });
    try {
      const meter = new AccuracyMeter();
      for await (const out of runDataset(session, floatBatches(ds, opts.batchSize ?? 256, opts.limit, true))) meter.add(out.output, out.y!);
      return meter.result().top1;
    } finally {
      await session.close();
    }
  };
}
