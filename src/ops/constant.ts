/** The value of a Constant node, whichever `value*` attribute carries it. */
import type { Node } from '../ir/node.ts';
import { Tensor } from '../ir/tensor.ts';

export function constantNodeTensor(node: Node): Tensor | undefined {
  if (node.opType !== 'Constant' || (node.domain !== '' && node.domain !== 'ai.onnx')) return undefined;
  const name = node.outputs[0];
  const t = node.getTensor('value');
  if (t) return t;
  const a = node.attributes[0];
  if (!a) return undefined;
  switch (a.name) {
    case 'value_float':
      return Tensor.fromTyped(name, Float32Array.of(Number(a.value)), []);
    case 'value_floats':
      return Tensor.fromTyped(name, Float32Array.from(a.value as number[]), [(a.value as number[]).length]);
    case 'value_int':
      return Tensor.fromTyped(name, BigInt64Array.of(BigInt(a.value as number)), []);
    case 'value_ints': {
      const v = a.value as Array<number | bigint>;
      return Tensor.fromTyped(name, BigInt64Array.from(v, (x) => BigInt(x)), [v.length]);
    }
    default:
      return undefined; // value_string(s) and sparse_value stay Constant nodes
  }
}
