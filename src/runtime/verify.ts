/**
 * The onnx-simplifier check: run the original and the rewritten model on the same random
 * inputs in onnxruntime and compare every output. Used after passes that must not change
 * what a model computes (cleanup).
 */
import { createSession, runBatch } from './ort.ts';
import { mulberry32 } from '../math/random.ts';
import { planFeeds } from './latency.ts';

export interface OutputDiff {
  output: string;
  maxAbsDiff: number;
  /** Largest magnitude in the reference output, to judge the difference against. */
  maxAbs: number;
}

export async function compareOnRandomInputs(reference: Uint8Array | string, candidate: Uint8Array | string, opts: { batch?: number; seed?: number } = {}): Promise<OutputDiff[]> {
  const [a, b] = await Promise.all([createSession(reference, { label: 'the input model' }), createSession(candidate, { label: 'the output model' })]);
  try {
    const { feeds } = planFeeds(a, opts.batch ?? 2, mulberry32(opts.seed ?? 1));
    const [ra, rb] = [await runBatch(a, feeds), await runBatch(b, feeds)];
    return Object.entries(ra).map(([name, ta]) => {
      const tb = rb[name];
      const va = ta.data as ArrayLike<number>;
      const vb = tb?.data as ArrayLike<number> | undefined;
      let maxAbsDiff = vb && vb.length === va.length ? 0 : Infinity;
      let maxAbs = 0;
      for (let i = 0; i < va.length && vb; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(Number(va[i])));
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(Number(va[i]) - Number(vb[i])));
      }
      return { output: name, maxAbsDiff, maxAbs };
    });
  } finally {
    await Promise.all([a.ort.release(), b.ort.release()]);
  }
}
