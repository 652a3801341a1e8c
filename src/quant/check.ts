/**
 * The runtime check: a quantized model is loaded in onnxruntime-node (which resolves a
 * kernel for every node) and run once on seeded random inputs before anyone writes it.
 * A model the runtime cannot run is never emitted.
 */
import * as ort from 'onnxruntime-node';
import { CheckError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import { ValueInfo } from '../ir/value.ts';
import { modelToBytes } from '../io/save.ts';
import type { DType } from '../onnx/dtype.ts';
import { mulberry32 } from '../math/random.ts';
import { planFeeds } from '../runtime/latency.ts';

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').map((l) => l.trim()).find(Boolean) ?? 'unknown error';
}

/** Loads and runs `bytes` once; throws CheckError naming what the runtime rejected. */
export async function checkRuns(bytes: Uint8Array, what: string): Promise<void> {
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

/** Serializes `model` with extra graph outputs of known dtypes (for capturing 8-bit tensors). */
export function bytesWithOutputs(model: Model, outputs: ReadonlyArray<{ name: string; dtype: DType }>): Uint8Array {
  const g = model.graph;
  const existing = new Set(g.outputs.map((o) => o.name));
  const saved = g.outputs;
  g.outputs = [...saved, ...outputs.filter((o) => !existing.has(o.name)).map((o) => new ValueInfo(o.name, { dtype: o.dtype, shape: undefined }))];
  try {
    return modelToBytes(model);
  } finally {
    g.outputs = saved;
  }
}
