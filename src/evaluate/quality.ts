/**
 * The quality gate's signal, which needs no labels: a model before and after a lossy pass,
 * run on the same inputs (calibration data, the given data set, or seeded random inputs),
 * compared output by output — cosine (mean over samples) and SQNR. Quantization fallback
 * steers by it when there are no labels, and the CLI gates its output on it.
 */
import type { Model } from '../ir/model.ts';
import { forEachBatch, openRunner, type InputSource } from '../quant/calibration/run.ts';
import { rowCosine } from '../report/metrics.ts';
import type { GraphSession } from '../runtime/types.ts';

/** The default floor: below 20 dB the error is a tenth of the signal's amplitude. */
export const DEFAULT_MIN_SQNR_DB = 20;

export interface OutputQuality {
  output: string;
  /** Mean over samples of the cosine of the two output rows. */
  cosine: number;
  /**
   * −10·log10 of the mean over samples of Σ (ref − out)² / Σ ref²: each sample counts the same,
   * so one loud sample cannot hide the errors of all the others (as a pooled SQNR lets it).
   * +Infinity when identical. An output of one value per sample (a score, a probability) is
   * pooled over samples instead: one number is no signal, and its relative error alone would
   * judge a VAD by its quietest frame (silero's 0.001 on silence read 13.9 dB at cosine 1.0000).
   */
  sqnrDb: number;
}

/** Per-sample cosine and noise-to-signal ratio, averaged over samples (pooled for one value per sample). */
class QualityMeter {
  private rows = 0;
  private cosine = 0;
  private ratio = 0;
  private loud = 0;
  private readonly pooled = { dot: 0, aa: 0, bb: 0, noise: 0 };
  private single = false;

  add(ref: Float32Array, out: Float32Array, rows: number): void {
    const size = ref.length / rows;
    if (size === 1) {
      this.single = true;
      const p = this.pooled;
      ref.forEach((a, i) => {
        const b = out[i]!;
        p.dot += a * b;
        p.aa += a * a;
        p.bb += b * b;
        p.noise += (a - b) * (a - b);
      });
      this.rows += rows;
      return;
    }
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      let aa = 0;
      let bb = 0;
      let noise = 0;
      for (let i = r * size; i < (r + 1) * size; i++) {
        const a = ref[i]!;
        const b = out[i]!;
        dot += a * b;
        aa += a * a;
        bb += b * b;
        noise += (a - b) * (a - b);
      }
      this.cosine += rowCosine(dot, aa, bb);
      // A silent reference row has no signal to judge noise against: its cosine still counts.
      if (aa > 0) {
        this.ratio += noise / aa;
        this.loud++;
      }
      this.rows++;
    }
  }

  result(output: string): OutputQuality {
    const p = this.pooled;
    const ratio = this.single ? p.noise / p.aa : this.ratio / this.loud;
    const cosine = this.single ? rowCosine(p.dot, p.aa, p.bb) : this.cosine / this.rows;
    return { output, cosine, sqnrDb: ratio === 0 ? Infinity : -10 * Math.log10(ratio) };
  }
}

export interface Quality {
  /** What both ran on: a data set's path, or 'random inputs'. */
  data: string;
  samples: number;
  outputs: OutputQuality[];
}

/** The reference model's float outputs on every batch of a source, kept to compare candidates with. */
export interface Reference {
  source: InputSource;
  outputs: string[];
  batches: Array<{ rows: number; values: Map<string, Float32Array> }>;
  samples: number;
}

type Source = Model | Uint8Array | string;

const isFloat = (dtype: string | undefined) => dtype === 'float32' || dtype === 'float16' || dtype === 'float64';

async function withRunner<T>(model: Source, label: string, fn: (s: GraphSession) => Promise<T>): Promise<T> {
  const session = await openRunner(model, label);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/** Runs the reference once over the source; its float outputs are what candidates are compared with. */
export async function referenceOutputs(model: Source, source: InputSource): Promise<Reference> {
  return withRunner(model, 'the input model', async (session) => {
    const outputs = session.outputs.filter((o) => isFloat(o.dtype)).map((o) => o.name);
    const batches: Reference['batches'] = [];
    const samples = await forEachBatch(session, source, outputs, (values, batch) => {
      batches.push({ rows: batch?.shape[0] ?? 1, values });
    });
    return { source, outputs, batches, samples };
  });
}

/** Cosine and SQNR of each float output of `candidate` against the reference, on the same inputs. */
export async function compareWithReference(ref: Reference, candidate: Source, label = 'the output model'): Promise<OutputQuality[]> {
  const meters = new Map(ref.outputs.map((o) => [o, new QualityMeter()]));
  await withRunner(candidate, label, async (session) => {
    let b = 0;
    await forEachBatch(session, ref.source, ref.outputs, (values) => {
      const { rows, values: expected } = ref.batches[b++]!;
      for (const [name, meter] of meters) {
        const want = expected.get(name);
        const got = values.get(name);
        if (!want || !got) continue; // not laid out by sample: left out of a padded chunk on both sides
        meter.add(want, got, want.length % rows === 0 ? rows : 1);
      }
    });
  });
  return [...meters].map(([output, m]) => m.result(output));
}

/** The lowest SQNR over outputs (what the gate compares with its floor); +Infinity with none. */
export function worstSqnr(outputs: readonly OutputQuality[]): number {
  return outputs.reduce((min, o) => (o.sqnrDb < min || Number.isNaN(o.sqnrDb) ? o.sqnrDb : min), Infinity);
}

/** What a source is called in the report. */
export function sourceName(source: InputSource): string {
  return 'random' in source ? 'random inputs' : source.dataset.path;
}

/** Reference and candidate compared on one source. */
export async function measureQuality(reference: Source, candidate: Source, source: InputSource): Promise<Quality> {
  const ref = await referenceOutputs(reference, source);
  return { data: sourceName(source), samples: ref.samples, outputs: await compareWithReference(ref, candidate) };
}
