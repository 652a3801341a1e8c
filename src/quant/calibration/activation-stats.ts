/**
 * Calibration: the float model runs over the calibration samples with every tensor that
 * needs a range exposed as an output, and each batch's values stream into one fixed-size
 * histogram per tensor. Nothing is kept per sample, so memory is the same for 100 samples
 * as for 100 000. Ranges of tensors that must share parameters come from their merged
 * histograms.
 */
import type { Model } from '../../ir/model.ts';
import type { TypeMap } from '../../ops/infer.ts';
import { modelWithOutputs } from '../../runtime/capture.ts';
import { calibratedRange, type Range, type RangeOptions } from './calibrators.ts';
import { DEFAULT_BINS, StreamingHistogram } from './histogram.ts';
import { forEachBatch, openRunner, type InputSource } from './run.ts';

export class ActivationStats {
  readonly histograms = new Map<string, StreamingHistogram>();
  /** Samples seen by the last collection. */
  samples = 0;

  constructor(readonly bins = DEFAULT_BINS) {}

  /** Bytes held by all histograms: depends on the tensor count, never on the sample count. */
  get stateBytes(): number {
    let n = 0;
    for (const h of this.histograms.values()) n += h.stateBytes;
    return n;
  }

  /**
   * Runs the float model over the source and accumulates histograms of `names` not yet
   * collected. `types` (the caller's shape inference of `model`) spares inferring it again.
   */
  async collect(model: Model, names: readonly string[], source: InputSource, types?: TypeMap, onBatch?: (samples: number) => void): Promise<void> {
    const missing = [...new Set(names)].filter((n) => !this.histograms.has(n));
    if (missing.length === 0) return;
    const outputs = types ? missing.map((name) => ({ name, dtype: types.get(name)?.dtype ?? 'float32' })) : missing;
    const runner = await openRunner(modelWithOutputs(model, outputs), 'the float model (calibration)');
    const hists = new Map(missing.map((n) => [n, new StreamingHistogram(this.bins)]));
    let seen = 0;
    try {
      this.samples = await forEachBatch(runner, source, missing, (out, batch) => {
        for (const [name, values] of out) hists.get(name)!.add(values);
        seen += batch?.shape[0] ?? 1;
        onBatch?.(seen);
      });
    } finally {
      await runner.close();
    }
    for (const [n, h] of hists) this.histograms.set(n, h);
  }

  /** Finite values collected for a tensor (0 for one the data never computed, such as an If branch not taken). */
  seen(tensor: string): number {
    return this.histograms.get(tensor)?.total ?? 0;
  }

  /** The range shared by `tensors` (their histograms merged). */
  range(tensors: readonly string[], opts: RangeOptions): Range {
    const hs = tensors.map((t) => {
      const h = this.histograms.get(t);
      if (!h) throw new Error(`no calibration statistics for '${t}'`);
      return h;
    });
    let h = hs[0]!;
    if (hs.length > 1) {
      h = new StreamingHistogram(this.bins);
      for (const x of hs) h.merge(x);
    }
    return calibratedRange(h, opts);
  }
}
