/**
 * Evaluates a handful of nodes whose inputs are all constants, in onnxruntime itself:
 * constant folding then agrees with the runtime bit for bit, for every op it supports.
 */
import * as ort from 'onnxruntime-node';
import { Graph } from '../ir/graph.ts';
import { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import { Tensor } from '../ir/tensor.ts';
import type { ValueInfo } from '../ir/value.ts';
import type { DType } from '../onnx/dtype.ts';
import { modelToBytes } from '../io/save.ts';

const FROM_ORT: Record<string, DType> = {
  float32: 'float32',
  float64: 'float64',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  bool: 'bool',
  float16: 'float16',
};

export async function evaluateConstantNodes(
  nodes: readonly Node[],
  constants: ReadonlyMap<string, Tensor>,
  opsets: ReadonlyMap<string, number>,
  outputs: readonly ValueInfo[],
): Promise<Map<string, Tensor>> {
  const g = new Graph('fold');
  g.nodes = [...nodes];
  const used = new Set(nodes.flatMap((n) => n.inputs));
  for (const [name, t] of constants) if (used.has(name)) g.initializers.set(name, t);
  g.outputs = [...outputs];
  const model = new Model(g, new Map(opsets), 8);
  const session = await ort.InferenceSession.create(modelToBytes(model), { graphOptimizationLevel: 'disabled' });
  try {
    const results = await session.run({});
    const out = new Map<string, Tensor>();
    for (const [name, value] of Object.entries(results)) {
      const dtype = FROM_ORT[value.type];
      if (!dtype) continue;
      const data = value.data as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };
      const t = new Tensor(name, dtype, [...value.dims], { kind: 'raw', chunk: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() });
      out.set(name, t);
    }
    return out;
  } finally {
    await session.release();
  }
}
