/**
 * The runtime check: a quantized model is loaded in onnxruntime-node (which resolves a
 * kernel for every node and infers every shape) and run once on seeded random inputs before
 * anyone writes it. A model the runtime cannot run is never emitted.
 *
 * Large models get a structural check instead: the same graph with every weight of 1 MiB or
 * more, and every weight not computed yet (deferred quantized weights and their scales, which
 * are computed while saving), turned into a graph input of the same type and shape.
 * onnxruntime still resolves a kernel for every node and checks every shape, without copying
 * the weights two more times (the in-memory model, then onnxruntime's own) — which for a 1 GB
 * model costs more memory and time than quantizing it. (onnxruntime fuses nodes only into kernels it has, so a
 * graph whose unfused nodes all have kernels runs.)
 */
import * as ort from 'onnxruntime-node';
import { CheckError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import { Graph } from '../ir/graph.ts';
import { Model as ModelClass } from '../ir/model.ts';
import { ValueInfo } from '../ir/value.ts';
import { modelToBytes } from '../io/save.ts';
import { isComputed } from '../onnx/chunk.ts';
import { mulberry32 } from '../math/random.ts';
import { planFeeds } from '../runtime/latency.ts';

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').map((l) => l.trim()).find(Boolean) ?? 'unknown error';
}

/** Loads (and with `run`, runs once) `bytes`; throws CheckError naming what the runtime rejected. */
export async function checkRuns(bytes: Uint8Array, what: string, run = true): Promise<void> {
  const hint = 'keep the node in float (excludeNodes) or use the qdq format';
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      // Loading checks kernels; packing weights for speed is not needed to prove that.
      extra: { session: { disable_prepacking: '1' } },
    });
  } catch (err) {
    throw new CheckError(`onnxruntime-node rejected ${what}: ${firstLine(err)} (${hint})`, { cause: err });
  }
  try {
    if (!run) return;
    let feeds: ort.InferenceSession.FeedsType;
    try {
      feeds = planFeeds({ label: what, ort: session }, 1, mulberry32(1)).feeds;
    } catch {
      return; // inputs with unknown dims: loading (kernel resolution) is the check
    }
    await session.run(feeds);
  } catch (err) {
    throw new CheckError(`onnxruntime-node cannot run ${what}: ${firstLine(err)} (${hint})`, { cause: err });
  } finally {
    await session.release();
  }
}

export type RuntimeCheck = 'auto' | 'full' | 'structure';

/** Models whose tensors take more than this get the structural check under 'auto'. */
export const FULL_CHECK_LIMIT = 128 * 2 ** 20;
const BIG_TENSOR = 2 ** 20;

/** Checks `model` in onnxruntime-node; returns which check ran. */
export async function runtimeCheck(model: Model, what: string, mode: RuntimeCheck = 'auto'): Promise<'full' | 'structure'> {
  let total = 0;
  for (const g of model.graph.walk()) for (const t of g.initializers.values()) total += t.byteLength;
  const kind = mode === 'auto' ? (total <= FULL_CHECK_LIMIT ? 'full' : 'structure') : mode;
  if (kind === 'full') await produceDeferred(model);
  await checkRuns(modelToBytes(kind === 'full' ? model : structureOnly(model)), what, kind === 'full');
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
  const m = new ModelClass(g, new Map(model.opsets), model.irVersion);
  m.proto = model.proto;
  return m;
}
