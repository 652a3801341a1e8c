/**
 * The onnx-simplifier check: run the original and the rewritten model on the same random
 * inputs in onnxruntime and compare every output. Used after passes that must not change
 * what a model computes (cleanup) and by channel pruning against its masked original.
 * NaN equals NaN and an infinity the same infinity (a model that yields them on random
 * inputs yields them in both versions); integers and booleans must match exactly.
 */
import { fork } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareOutput } from '../check/compare-outputs.ts';
import { CheckError, InputError } from '../errors.ts';
import type { InputPlan } from '../check/input-roles.ts';
import type { Model } from '../ir/model.ts';
import { mulberry32 } from '../math/random.ts';
import { feedsFromPlan, planFeeds } from './feeds.ts';
import { createSession } from './ort.ts';
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
  /** Feeds valid for each input's role (src/check/input-roles.ts); default: uniform values by dtype. */
  plan?: readonly InputPlan[];
}

const values = (t: HostTensor): ArrayLike<number | bigint> => t.data as ArrayLike<number | bigint>;

export async function compareOnRandomInputs(reference: Source, candidate: Source, opts: CompareOptions = {}): Promise<OutputDiff[]> {
  const [a, b] = await Promise.all([createSession(reference, { label: 'the input model' }), createSession(candidate, { label: 'the output model' })]);
  try {
    const rng = mulberry32(opts.seed ?? 1);
    const batch = opts.batch ?? 2;
    const feeds = opts.plan ? feedsFromPlan(a.label, opts.plan, batch, rng) : planFeeds(a, batch, rng).feeds;
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
 * `compareOnRandomInputs` in a child process, for models saved as files: random inputs can
 * drive onnxruntime into a native crash (STFT with a frame step of 0 raises SIGFPE), which
 * here becomes a one-line InputError instead of the end of our process. Errors keep their
 * class (InputError, CheckError) and message.
 */
export async function compareInChildProcess(reference: string, candidate: string, opts: CompareOptions = {}): Promise<OutputDiff[]> {
  // Under tsx (tests, dev scripts) this file is .ts and the child needs tsx's loader too.
  const self = fileURLToPath(import.meta.url);
  const child = join(dirname(self), `verify-child${extname(self)}`);
  const execArgv = extname(self) === '.ts' ? ['--import', 'tsx'] : [];
  // 'advanced' serialization keeps Infinity (a mismatch) as it is; JSON would turn it into null.
  const proc = fork(child, [], { execArgv, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
  return await new Promise<OutputDiff[]>((resolve, reject) => {
    let settled = false;
    proc.once('message', (m: { diffs?: OutputDiff[]; error?: { name: string; message: string } }) => {
      settled = true;
      if (m.diffs) resolve(m.diffs);
      else reject(m.error?.name === 'CheckError' ? new CheckError(m.error.message) : new InputError(m.error?.message ?? 'verification failed'));
    });
    proc.once('exit', (code, signal) => {
      if (!settled) reject(new InputError(`onnxruntime crashed (${signal ?? `exit ${code}`}) running ${reference === candidate ? reference : `${reference} and ${candidate}`} on random inputs`));
    });
    proc.send({ reference, candidate, opts });
  });
}
