/**
 * The onnx-simplifier check: run the original and the rewritten model on the same random
 * inputs in onnxruntime and compare every output. Used after passes that must not change
 * what a model computes (cleanup) and by channel pruning against its masked original.
 * NaN equals NaN and an infinity the same infinity (a model that yields them on random
 * inputs yields them in both versions); integers and booleans must match exactly.
 */
import { compareOutput } from '../check/compare-outputs.ts';
import { InputError } from '../errors.ts';
import type { InputRole } from '../check/input-roles.ts';
import type { Model } from '../ir/model.ts';
import { mulberry32 } from '../math/random.ts';
import { runInChild } from './child.ts';
import { planFeeds } from './feeds.ts';
import { createSession } from './ort.ts';
import type { InputShapes } from './shapes.ts';
import type { HostTensor } from './types.ts';

export interface OutputDiff {
  output: string;
  /** Largest |a − b| over finite pairs; Infinity when shapes, special values or exact types differ. */
  maxAbsDiff: number;
  /** Largest finite magnitude in the reference output, to judge the difference against. */
  maxAbs: number;
}

type Source = Model | Uint8Array | string;

export interface CompareOptions {
  batch?: number;
  seed?: number;
  /** Role of each input by name (src/check/input-roles.ts `rolesByName`); default: by dtype. */
  roles?: Readonly<Record<string, InputRole>>;
  /** Sizes of free input dims (`--input-shape`, `--dim`). */
  shapes?: InputShapes;
}

const values = (t: HostTensor): ArrayLike<number | bigint> => t.data as ArrayLike<number | bigint>;

export async function compareOnRandomInputs(reference: Source, candidate: Source, opts: CompareOptions = {}): Promise<OutputDiff[]> {
  const [a, b] = await Promise.all([createSession(reference, { label: 'the input model' }), createSession(candidate, { label: 'the output model' })]);
  try {
    const rng = mulberry32(opts.seed ?? 1);
    const batch = opts.batch ?? 2;
    const feeds = planFeeds(a, batch, rng, opts.shapes, opts.roles).feeds;
    const [ra, rb] = [await a.run(feeds), await b.run(feeds)];
    return Object.entries(ra).map(([name, ta]) => {
      const tb = rb[name];
      if (!tb || tb.dims.join() !== ta.dims.join()) return { output: name, maxAbsDiff: Infinity, maxAbs: 0 };
      const c = compareOutput(name, values(ta), values(tb), 0);
      return { output: name, maxAbsDiff: c.mismatchedSpecials > 0 ? Infinity : c.maxAbsDiff, maxAbs: c.maxAbs };
    });
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/**
 * `compareOnRandomInputs` in a child process (child.ts), for models saved as files: a native
 * crash of onnxruntime becomes a one-line InputError instead of the end of our process. Errors
 * keep their class (InputError, CheckError) and message.
 */
export async function compareInChildProcess(reference: string, candidate: string, opts: CompareOptions = {}): Promise<OutputDiff[]> {
  const what = reference === candidate ? reference : `${reference} and ${candidate}`;
  return runInChild('verify', { reference, candidate, opts }, (how) => new InputError(`onnxruntime crashed (${how}) running ${what} on random inputs`));
}
