/**
 * Intermediate tensors on demand: a copy of the model with chosen values added as graph
 * outputs, for calibration, sensitivity analysis and debugging. The model itself is not
 * changed.
 */
import type { Model } from '../ir/model.ts';
import { ValueInfo } from '../ir/value.ts';
import { modelToBytes } from '../io/save.ts';
import { inferShapes } from '../ops/infer.ts';

/** Serializes `model` with `names` exposed as extra outputs (dtype from shape inference). */
export function modelBytesWithOutputs(model: Model, names: readonly string[]): Uint8Array {
  const graph = model.graph;
  const types = inferShapes(model);
  const existing = new Set(graph.outputs.map((o) => o.name));
  const extra = names.filter((n) => !existing.has(n)).map((n) => new ValueInfo(n, { dtype: types.get(n)?.dtype ?? 'float32', shape: undefined }));
  const saved = graph.outputs;
  graph.outputs = [...saved, ...extra];
  try {
    return modelToBytes(model);
  } finally {
    graph.outputs = saved;
  }
}
