/** The one op table. Unknown ops are allowed everywhere: they keep declared shapes. */
import type { Node } from '../ir/node.ts';
import { CONV_OPS } from './conv.ts';
import { ELEMENTWISE_OPS } from './elementwise.ts';
import { MATMUL_OPS } from './matmul.ts';
import { NORMALIZATION_OPS } from './normalization.ts';
import { QUANTIZATION_OPS } from './quantization.ts';
import { SHAPE_OPS } from './shape-ops.ts';
import type { OpSpec } from './types.ts';

const CONTROL_OPS: OpSpec[] = ['If', 'Loop', 'Scan'].map((op) => ({ op, domain: '', category: 'control' }));

export const OPS: readonly OpSpec[] = [
  ...CONV_OPS,
  ...ELEMENTWISE_OPS,
  ...MATMUL_OPS,
  ...NORMALIZATION_OPS,
  ...SHAPE_OPS,
  ...QUANTIZATION_OPS,
  ...CONTROL_OPS,
];

const key = (domain: string, op: string) => `${domain === 'ai.onnx' ? '' : domain}::${op}`;
const TABLE = new Map(OPS.map((s) => [key(s.domain, s.op), s]));

export function opSpec(node: Pick<Node, 'opType' | 'domain'>): OpSpec | undefined {
  return TABLE.get(key(node.domain, node.opType));
}
