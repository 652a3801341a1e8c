/**
 * The onnx-simplifier check: run the original and the rewritten model on the same random
 * inputs in onnxruntime and compare every output. Used after passes that must not change
 * what a model computes (cleanup) and by channel pruning against its masked original.
 * NaN equals NaN and an infinity the same infinity (a model that yields them on random
 * inputs yields them in both versions); integers and booleans must match exactly.
 */
import { compareOutput } from '../check/compare-outputs.ts';
import { CheckError, InputError } from '../errors.ts';
import type { InputRole } from '../check/input-roles.ts';
import type { Model } from '../ir/model.ts';
import { mulberry32 } from '../math/random.ts';
import { runInChild, runInSharedChild } from './child.ts';
import { planFeeds } from './feeds.ts';
import { createSession } from './ort.ts';
import { checkRuns, structureOnly, type GivenInputs } from './check.ts';
import { loadModel } from '../io/load.ts';
import { modelToBytes } from '../io/save.ts';
import { tensorFingerprint } from '../ir/tensor-facts.ts';
import { givenBatch } from './shapes.ts';
import type { HostTensor } from './types.ts';

export interface OutputDiff {
  output: string;
  /** Largest |a − b| over finite pairs; Infinity when shapes, special values or exact types differ. */
  maxAbsDiff: number;
  /** Largest finite magnitude in the reference output, to judge the difference against. */
  maxAbs: number;
}

type Source = Model | Uint8Array | string;

/** `shapes` sizes free input dims (`--input-shape`, `--dim`); `values` are fed whole instead of random (`--input-value`: a sample rate that picks a branch). */
export interface CompareOptions extends GivenInputs {
  /** Default: the batch of the given shapes, else 2 (a batch of one hides batch-dim bugs). */
  batch?: number;
  seed?: number;
  /** Role of each input by name (src/check/input-roles.ts `rolesByName`); default: by dtype. */
  roles?: Readonly<Record<string, InputRole>>;
}

const values = (t: HostTensor): ArrayLike<number | bigint> => t.data as ArrayLike<number | bigint>;

/**
 * One model at a time: the reference runs, its outputs are kept and its session closed before
 * the candidate opens, so a large model is never held twice (a 1 GiB model takes ~1.1 GiB in
 * onnxruntime).
 */
export async function compareOnRandomInputs(reference: Source, candidate: Source, opts: CompareOptions = {}): Promise<OutputDiff[]> {
  const a = await createSession(reference, { label: 'the input model' });
  let feeds: Record<string, HostTensor>;
  let ra: Record<string, HostTensor>;
  try {
    const rng = mulberry32(opts.seed ?? 1);
    const batch = opts.batch ?? givenBatch(opts.shapes) ?? 2;
    feeds = planFeeds(a, batch, rng, opts.shapes, opts.roles, opts.values).feeds;
    ra = await a.run(feeds);
  } finally {
    await a.close();
  }
  const b = await createSession(candidate, { label: 'the output model' });
  let rb: Record<string, HostTensor>;
  try {
    rb = await b.run(feeds);
  } finally {
    await b.close();
  }
  return Object.entries(ra).map(([name, ta]) => {
    const tb = rb[name];
    if (!tb || tb.dims.join() !== ta.dims.join()) return { output: name, maxAbsDiff: Infinity, maxAbs: 0 };
    const c = compareOutput(name, values(ta), values(tb), 0);
    return { output: name, maxAbsDiff: c.mismatchedSpecials > 0 ? Infinity : c.maxAbsDiff, maxAbs: c.maxAbs };
  });
}

/**
 * The check of a saved model that runs neither model (for models too large to run by
 * default): the file is read back, onnxruntime resolves every node's kernel and shape with
 * the large weights as graph inputs, and every weight in it matches the one written
 * (dtype, shape and sampled bytes). CheckError naming the first difference.
 */
export async function verifySaved(written: Model, path: string): Promise<void> {
  const saved = await loadModel(path);
  await checkRuns(modelToBytes(structureOnly(saved)), 'the output model', { run: false });
  const [a, b] = [[...written.graph.walk()], [...saved.graph.walk()]];
  if (a.length !== b.length) throw new CheckError(`verification failed: the saved output has ${b.length} graphs, ${a.length} were written`);
  a.forEach((g, i) => {
    const h = b[i]!;
    if (g.nodes.length !== h.nodes.length) throw new CheckError(`verification failed: graph '${h.name}' of the saved output has ${h.nodes.length} nodes, ${g.nodes.length} were written`);
    for (const t of g.initializers.values()) {
      const s = h.initializers.get(t.name);
      const same = s && s.dtype === t.dtype && s.dims.join() === t.dims.join() && tensorFingerprint(s) === tensorFingerprint(t);
      if (!same) throw new CheckError(`verification failed: weight '${t.name}' of the saved output is not the one written`);
    }
  });
}

/**
 * `compareOnRandomInputs` in a child process (child.ts): a native crash of onnxruntime becomes
 * a one-line InputError instead of the end of our process. Errors keep their class
 * (InputError, CheckError) and message. Files get a child of their own (its memory goes back
 * when it ends); models in memory, which are small, the process's shared child.
 */
export async function compareInChildProcess(reference: string | Uint8Array, candidate: string | Uint8Array, opts: CompareOptions = {}): Promise<OutputDiff[]> {
  const name = (s: string | Uint8Array) => (typeof s === 'string' ? s : 'the model');
  const what = reference === candidate ? name(reference) : `${name(reference)} and ${name(candidate)}`;
  const crashed = (how: string) => new InputError(`onnxruntime crashed (${how}) running ${what} on random inputs`);
  const inFiles = typeof reference === 'string' || typeof candidate === 'string';
  return (inFiles ? runInChild : runInSharedChild)('verify', { reference, candidate, opts }, crashed);
}
