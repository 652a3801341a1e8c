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
 */
import { CheckError, InputError } from '../errors.ts';
import { Graph } from '../ir/graph.ts';
import { Model } from '../ir/model.ts';
import { ValueInfo } from '../ir/value.ts';
import { modelToBytes } from '../io/save.ts';
import { isComputed } from '../onnx/chunk.ts';
import { mulberry32 } from '../math/random.ts';
import { planFeeds } from './feeds.ts';
import { createSession, firstLine, type OrtSession } from './ort.ts';

export type RuntimeCheck = 'auto' | 'full' | 'structure';

export interface CheckOptions {
  /** false: loading (kernel resolution) is the whole check. Default true. */
  run?: boolean;
  /** What the user can do about a refusal, appended in parentheses. */
  hint?: string;
}

/** Models whose tensors take more than this get the structural check under 'auto'. */
export const FULL_CHECK_LIMIT = 128 * 2 ** 20;
const BIG_TENSOR = 2 ** 20;

function failed(what: string, err: unknown, hint: string | undefined): CheckError {
  // Errors from the session wrapper already name the model; keep only the runtime's reason.
  const reason = firstLine(err).replace(/^onnxruntime rejected .*?: /, '');
  return new CheckError(`onnxruntime rejected ${what}: ${reason}${hint ? ` (${hint})` : ''}`, { cause: err });
}

/** Loads (and runs once) `model`; CheckError naming `what` if onnxruntime refuses it. */
export async function checkRuns(model: Model | Uint8Array, what: string, opts: CheckOptions = {}): Promise<void> {
  let session: OrtSession;
  try {
    // Loading proves kernels exist; packing weights for speed is not needed for that.
    session = await createSession(model, { label: what, prepack: false });
  } catch (err) {
    throw failed(what, err, opts.hint);
  }
  try {
    if (opts.run === false) return;
    let feeds;
    try {
      feeds = planFeeds(session, 1, mulberry32(1)).feeds;
    } catch (err) {
      if (err instanceof InputError) return; // inputs with unknown dims: loading is the check
      throw err;
    }
    await session.run(feeds);
  } catch (err) {
    throw failed(what, err, opts.hint);
  } finally {
    await session.close();
  }
}

/** Checks `model`, structurally above FULL_CHECK_LIMIT under 'auto'; returns which check ran. */
export async function runtimeCheck(model: Model, what: string, mode: RuntimeCheck = 'auto', hint?: string): Promise<'full' | 'structure'> {
  let total = 0;
  for (const g of model.graph.walk()) for (const t of g.initializers.values()) total += t.byteLength;
  const kind = mode === 'auto' ? (total <= FULL_CHECK_LIMIT ? 'full' : 'structure') : mode;
  if (kind === 'full') await produceDeferred(model);
  await checkRuns(modelToBytes(kind === 'full' ? model : structureOnly(model)), what, { run: kind === 'full', hint });
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
