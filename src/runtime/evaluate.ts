/**
 * Evaluates a handful of nodes whose inputs are all constants, in onnxruntime itself:
 * constant folding then agrees with the runtime bit for bit, for every op it supports.
 */
import { Graph } from '../ir/graph.ts';
import { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import { Tensor } from '../ir/tensor.ts';
import type { ValueInfo } from '../ir/value.ts';
import { createSession } from './ort.ts';

export async function evaluateConstantNodes(
  nodes: readonly Node[],
  constants: ReadonlyMap<string, Tensor>,
  opsets: ReadonlyMap<string, number>,
  outputs: readonly ValueInfo[],
  irVersion: Model['irVersion'] = 8,
): Promise<Map<string, Tensor>> {
  const g = new Graph('fold');
  g.nodes = [...nodes];
  const used = new Set(nodes.flatMap((n) => n.inputs));
  for (const [name, t] of constants) if (used.has(name)) g.initializers.set(name, t);
  g.outputs = [...outputs];
  const model = new Model(g, new Map(opsets), irVersion);
  const session = await createSession(model, { optimization: 'disabled', label: 'the constant subgraph' });
  try {
    const out = new Map<string, Tensor>();
    for (const [name, { dtype, dims, data }] of Object.entries(await session.run({}))) {
      out.set(name, new Tensor(name, dtype, [...dims], { kind: 'raw', chunk: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() }));
    }
    return out;
  } finally {
    await session.close();
  }
}
