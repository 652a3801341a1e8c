/**
 * The onnx-simplifier check: run the original and the rewritten model on the same random
 * inputs in onnxruntime and compare every output. Used after passes that must not change
 * what a model computes (cleanup).
 */
import type { Model } from '../ir/model.ts';
import { mulberry32 } from '../math/random.ts';
import { asFloat32 } from './batches.ts';
import { planFeeds } from './feeds.ts';
import { createSession } from './ort.ts';

export interface OutputDiff {
  output: string;
  maxAbsDiff: number;
  /** Largest magnitude in the reference output, to judge the difference against. */
  maxAbs: number;
}

type Source = Model | Uint8Array | string;

export async function compareOnRandomInputs(reference: Source, candidate: Source, opts: { batch?: number; seed?: number } = {}): Promise<OutputDiff[]> {
  const [a, b] = await Promise.all([createSession(reference, { label: 'the input model' }), createSession(candidate, { label: 'the output model' })]);
  try {
    const { feeds } = planFeeds(a, opts.batch ?? 2, mulberry32(opts.seed ?? 1));
    const [ra, rb] = [await a.run(feeds), await b.run(feeds)];
    return Object.entries(ra).map(([name, ta]) => {
      const va = asFloat32(ta);
      const vb = rb[name] ? asFloat32(rb[name]) : undefined;
      let maxAbsDiff = vb && vb.length === va.length ? 0 : Infinity;
      let maxAbs = 0;
      for (let i = 0; i < va.length && vb; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(va[i]!));
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(va[i]! - vb[i]!));
      }
      return { output: name, maxAbsDiff, maxAbs };
    });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
