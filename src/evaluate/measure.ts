/**
 * Measures one model for a report row: sizes on disk and compressed, parameters and
 * sparsity, top-1 accuracy on a labelled data set, agreement with a baseline's outputs on
 * the same samples — all by running the model in onnxruntime. Latency is timed apart, in a
 * child process and interleaved with the model it is compared with (./latency.ts).
 */
import type { Dataset } from '../data/dataset.ts';
import type { Model } from '../ir/model.ts';
import { summarizeModel } from '../inspect/summary.ts';
import { AccuracyMeter, AgreementMeter } from '../report/metrics.ts';
import type { StageMeasurements } from '../report/report.ts';
import { measureSizes, type CompressedSizes } from '../report/size.ts';
import { floatBatches, planDataset, runDataset } from '../runtime/batches.ts';
import { createSession } from '../runtime/ort.ts';
import { concatFloat32 } from '../math/arrays.ts';
import { phase } from '../profile.ts';
import { loadModel } from '../io/load.ts';
import { isComputed } from '../onnx/chunk.ts';

export interface MeasureOptions {
  dataset?: Dataset;
  /** Samples of the data set to use (default: all). */
  limit?: number;
  /** Default 64. */
  batchSize?: number;
  /** Outputs of the reference model on the same samples, row-major; enables agreement. */
  baseline?: Float32Array;
  /** Keep this model's outputs (to serve as the baseline of later stages). */
  keepOutputs?: boolean;
  /** gzip/brotli sizes: 'auto' (default) measures files up to 64 MiB. */
  compressedSizes?: CompressedSizes;
  /** External data files of `file`, counted in its sizes. */
  dataFiles?: readonly string[];
  /** onnxruntime intra-op threads for the data set's runs; default: one per core. */
  threads?: number;
}

export interface Measured {
  stage: StageMeasurements;
  outputs?: Float32Array;
}

/**
 * The model whose weights are counted: the saved file's when `model` still has weights to
 * compute whose zeros are not known without computing them (deferred int8 codes, which saving
 * computed on worker threads and wrote to the file without keeping them), so that counting
 * their zeros does not compute them again. Pruned weights know their zeros.
 */
async function counted(model: Model, file: string | Uint8Array): Promise<Model> {
  if (typeof file !== 'string') return model;
  for (const g of model.graph.walk()) {
    for (const { payload: p } of g.initializers.values()) if (p.kind === 'raw' && isComputed(p.chunk) && p.chunk.zeros === undefined) return loadModel(file);
  }
  return model;
}

/** `file` is what is measured on disk (the model as saved); `model` gives params and sparsity. */
export async function measureModel(name: string, model: Model, file: string | Uint8Array, opts: MeasureOptions = {}): Promise<Measured> {
  const summary = await phase(`measure ${name}: parameters and zeros`, async () => summarizeModel(await counted(model, file)));
  const sizes = await phase(`measure ${name}: sizes`, () => measureSizes(file, opts.compressedSizes, opts.dataFiles));
  const stage: StageMeasurements = { name, sizes, params: summary.params, sparsity: summary.sparsity };
  // Nothing to run: no session (loading a 1 GB model into onnxruntime takes seconds).
  if (!opts.dataset) return { stage };
  const session = await phase(`measure ${name}: onnxruntime session`, () => createSession(file, { threads: opts.threads, label: typeof file === 'string' ? file : name }));
  try {
    const ds = opts.dataset;
    planDataset(session, ds);
    const accuracy = ds.y ? new AccuracyMeter() : undefined;
    const agreement = opts.baseline ? new AgreementMeter() : undefined;
    const kept: Float32Array[] = [];
    let offset = 0;
    for await (const out of runDataset(session, floatBatches(ds, opts.batchSize ?? 64, opts.limit, true))) {
      const rows = out.shape[0];
      if (accuracy && out.y) accuracy.add(out.output, out.y);
      if (agreement && opts.baseline) {
        agreement.add(opts.baseline.subarray(offset, offset + out.output.length), out.output, rows);
      }
      offset += out.output.length;
      if (opts.keepOutputs) kept.push(out.output);
    }
    if (accuracy) stage.accuracy = accuracy.result();
    if (agreement) stage.agreement = agreement.result();
    return { stage, outputs: opts.keepOutputs ? concatFloat32(kept) : undefined };
  } finally {
    await session.close();
  }
}
