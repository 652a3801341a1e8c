/**
 * Intermediate tensors on demand: a copy of the model with chosen values added as graph
 * outputs, for calibration, sensitivity analysis and debugging. The model itself is not
 * changed.
 */
import type { Model } from '../ir/model.ts';
import type { DType } from '../onnx/dtype.ts';
import { ValueInfo } from '../ir/value.ts';
import { modelToBytes } from '../io/save.ts';
import { inferShapes } from '../ops/infer.ts';

/**
 * Serializes `model` with values exposed as extra outputs: a name alone takes its dtype from
 * shape inference, `{ name, dtype }` gives it (8-bit tensors of a quantized model).
 */
export function modelBytesWithOutputs(model: Model, outputs: ReadonlyArray<string | { name: string; dtype: DType }>): Uint8Array {
  const graph = model.graph;
  const wanted = outputs.map((o) => (typeof o === 'string' ? { name: o, dtype: undefined } : o));
  const types = wanted.some((o) => !o.dtype) ? inferShapes(model) : undefined;
  const existing = new Set(graph.outputs.map((o) => o.name));
  const extra = wanted.filter((o) => !existing.has(o.name)).map((o) => new ValueInfo(o.name, { dtype: o.dtype ?? types?.get(o.name)?.dtype ?? 'float32', shape: undefined }));
  const saved = graph.outputs;
  graph.outputs = [...saved, ...extra];
  try {
    return modelToBytes(model);
  } finally {
    graph.outputs = saved;
  }
}
