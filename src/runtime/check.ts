/**
 * The one "it loads and runs" check every pass makes before it returns a model: onnxruntime
 * loads it (resolving a kernel for every node and checking every shape) and runs it once on
 * seeded random inputs when every input's shape can be made concrete. A model the runtime
 * refuses is a failed check (CheckError, exit 1) with one message format:
 *   onnxruntime rejected <what>: <its first line> (<hint>)
 *
 * Large models get a structural check instead: the same graph with every weight of 1 MiB or
 * more, and every weight not computed yet (deferred quantized weights and their scales, which
 * are computed while saving), turned into a graph input of the same type and shape.
 * onnxruntime still resolves a kernel for every node and checks every shape, without copying
 * the weights two more times (the in-memory model, then onnxruntime's own) — which for a 1 GB
 * model costs more memory and time than compressing it.
 *
 * The run happens in this process's shared child (child.ts): random inputs can crash
 * onnxruntime natively (SIGFPE), which must end neither the pass nor the process. A crash
 * leaves loading as the check and a note that says so.
 */
import { CheckError, InputError } from '../errors.ts';
import { Graph } from '../ir/graph.ts';
import { Model } from '../ir/model.ts';
import { ValueInfo } from '../ir/value.ts';
import { modelToBytes } from '../io/save.ts';
import { isComputed } from '../onnx/chunk.ts';
import { mulberry32 } from '../math/random.ts';
import { runInSharedChild } from './child.ts';
import { planFeeds } from './feeds.ts';
import { createSession, firstLine, type OrtSession } from './ort.ts';
import { givenBatch, type InputShapes } from './shapes.ts';
import type { InputValues } from '../data/input-values.ts';

export type RuntimeCheck = 'auto' | 'full' | 'structure';

export interface CheckOptions {
  /** false: loading (kernel resolution) is the whole check. Default true. */
  run?: boolean;
  /** What the user can do about a refusal, appended in parentheses. */
  hint?: string;
  /** Told when the run could not happen (onnxruntime crashed on the random inputs). */
  note?: (message: string) => void;
  /** What the user gave for the run's inputs: sizes of free dims, values fed whole (a sample rate). */
  given?: GivenInputs;
}

export interface GivenInputs {
  shapes?: InputShapes;
  values?: InputValues;
}

/** The check as the child runs it. */
export interface RunCheck {
  /** The model's bytes, or the path of its file. */
  model: Uint8Array | string;
  what: string;
  run: boolean;
  hint?: string;
  given?: GivenInputs;
}

/** Models whose tensors take more than this get the structural check under 'auto'. */
export const FULL_CHECK_LIMIT = 128 * 2 ** 20;
const BIG_TENSOR = 2 ** 20;

function failed(what: string, err: unknown, hint: string | undefined): CheckError {
  // Errors from the session wrapper already name the model; keep only the runtime's reason.
  const reason = firstLine(err).replace(/^onnxruntime rejected .*?: /, '');
  return new CheckError(`onnxruntime rejected ${what}: ${reason}${hint ? ` (${hint})` : ''}`, { cause: err });
}

/** A model that loads but fails on random inputs may need particular ones (a sample rate picking a branch). */
const RUN_HINT = 'it failed on random inputs: --input-value and --input-shape give inputs it needs';

/** A native crash of the child that ran the check (not a refusal by onnxruntime). */
class Crashed extends Error {}

/**
 * Loads (and runs once) `model` in the shared child; CheckError naming `what` if onnxruntime
 * refuses it, or crashes loading it (an assertion in its graph resolution aborts the process).
 */
export async function checkRuns(model: Model | Uint8Array, what: string, opts: CheckOptions = {}): Promise<void> {
  const bytes = model instanceof Uint8Array ? model : modelToBytes(model);
  const check: RunCheck = { model: bytes, what, run: opts.run !== false, ...(opts.hint && { hint: opts.hint }), ...(opts.given && { given: opts.given }) };
  const inChild = (c: RunCheck) => runInSharedChild('check', c, (how) => new Crashed(how));
  try {
    await inChild(check);
  } catch (err) {
    if (!(err instanceof Crashed) || !check.run) throw crashedLoading(err, what, opts.hint);
    await inChild({ ...check, run: false }).catch((e: unknown) => {
      throw crashedLoading(e, what, opts.hint);
    });
    opts.note?.(`${what} was loaded but not run: onnxruntime crashed (${err.message}) on random inputs`);
  }
}

function crashedLoading(err: unknown, what: string, hint: string | undefined): unknown {
  return err instanceof Crashed ? new CheckError(`onnxruntime crashed (${err.message}) loading ${what}${hint ? ` (${hint})` : ''}`) : err;
}

/**
 * The user's model loads in onnxruntime, tried in the shared child: a model it refuses, or
 * crashes on while loading (an assertion, a segfault in its graph resolution), is bad input
 * (InputError, exit 2) and never ends our process.
 */
export async function checkInputLoads(path: string): Promise<void> {
  try {
    await runInSharedChild('check', { model: path, what: path, run: false }, (how) => new Crashed(how));
  } catch (err) {
    if (err instanceof Crashed) throw new InputError(`onnxruntime crashed (${err.message}) loading ${path}`);
    if (err instanceof CheckError) throw new InputError(err.message, { cause: err });
    throw err;
  }
}

/** `checkRuns` in this process: the child's side. */
export async function checkHere(check: RunCheck): Promise<void> {
  const { what, hint } = check;
  let session: OrtSession;
  try {
    // Loading proves kernels exist; packing weights for speed is not needed for that.
    session = await createSession(check.model, { label: what, prepack: false });
  } catch (err) {
    throw failed(what, err, hint);
  }
  try {
    if (!check.run) return;
    let feeds;
    try {
      const { shapes, values } = check.given ?? {};
      feeds = planFeeds(session, givenBatch(shapes) ?? 1, mulberry32(1), shapes, undefined, values).feeds;
    } catch (err) {
      if (err instanceof InputError) return; // inputs with unknown dims: loading is the check
      throw err;
    }
    await session.run(feeds);
  } catch (err) {
    throw failed(what, err, [hint, RUN_HINT].filter(Boolean).join('; '));
  } finally {
    await session.close();
  }
}

/** What a report says when `runtimeCheck` checked the structure only. */
export const STRUCTURE_CHECK_NOTE = 'runtime check: weights of 1 MiB or more were fed as inputs (kernels and shapes checked without loading them twice more)';

/** Checks `model`, structurally above FULL_CHECK_LIMIT under 'auto'; returns which check ran. */
export async function runtimeCheck(model: Model, what: string, mode: RuntimeCheck = 'auto', opts: Omit<CheckOptions, 'run'> = {}): Promise<'full' | 'structure'> {
  let total = 0;
  for (const g of model.graph.walk()) for (const t of g.initializers.values()) total += t.byteLength;
  const kind = mode === 'auto' ? (total <= FULL_CHECK_LIMIT ? 'full' : 'structure') : mode;
  if (kind === 'full') await produceDeferred(model);
  await checkRuns(modelToBytes(kind === 'full' ? model : structureOnly(model)), what, { ...opts, run: kind === 'full' });
  return kind;
}

/**
 * Computes the deferred tensors a full check reads, all at once (on worker threads where they
 * use them) rather than one by one on this thread while serializing.
 */
async function produceDeferred(model: Model): Promise<void> {
  const pending: Array<Promise<unknown>> = [];
  for (const g of model.graph.walk()) {
    for (const { payload: p } of g.initializers.values()) if (p.kind === 'raw' && isComputed(p.chunk)) pending.push(p.chunk.produce());
  }
  await Promise.all(pending);
}

/** The model with its large and its deferred weights as graph inputs (same dtype and shape), for kernel resolution. */
export function structureOnly(model: Model): Model {
  const src = model.graph;
  const g = new Graph(src.name);
  g.nodes = src.nodes;
  g.outputs = src.outputs;
  g.valueInfo = src.valueInfo;
  g.sparseInitializers = src.sparseInitializers;
  g.proto = src.proto;
  g.inputs = [...src.inputs];
  const declared = new Set(src.inputs.map((v) => v.name));
  for (const [name, t] of src.initializers) {
    if (t.byteLength < BIG_TENSOR && !t.isDeferred) g.initializers.set(name, t);
    else if (!declared.has(name)) g.inputs.push(new ValueInfo(name, { dtype: t.dtype, shape: [...t.dims] }));
  }
  const m = new Model(g, new Map(model.opsets), model.irVersion);
  m.proto = model.proto;
  return m;
}
