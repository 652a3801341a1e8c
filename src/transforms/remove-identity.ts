/** Identity, and Dropout in inference (its mask unused), forward their input unchanged. */
import type { Graph } from '../ir/graph.ts';
import type { Node } from '../ir/node.ts';

function isPassThrough(n: Node, g: Graph): boolean {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return false;
  if (n.opType === 'Identity') return true;
  if (n.opType !== 'Dropout') return false;
  const mask = n.outputs[1];
  const maskUsed = mask && (g.isGraphOutput(mask) || g.nodes.some((m) => m.inputs.includes(mask)));
  // training_mode as a constant true input would make Dropout random: keep it then.
  return !maskUsed && (n.inputs[2] === undefined || n.inputs[2] === '');
}

export function removeIdentities(root: Graph): number {
  let removed = 0;
  for (const g of root.walk()) {
    for (const n of [...g.nodes]) {
      if (!isPassThrough(n, g)) continue;
      const [input] = n.inputs;
      const [output] = n.outputs;
      if (!g.isGraphOutput(output)) {
        g.replaceUses(output, input);
      } else {
        // The output name is part of the model's interface: rename the producer's output instead.
        const producer = g.nodes.find((p) => p.outputs.includes(input));
        const inputIsInterface = !producer || g.isGraphOutput(input);
        if (inputIsInterface) continue;
        producer.outputs = producer.outputs.map((o) => (o === input ? output : o));
        g.replaceUses(input, output);
      }
      g.nodes = g.nodes.filter((m) => m !== n);
      removed++;
    }
  }
  return removed;
}
