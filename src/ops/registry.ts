/** The one op table. Unknown ops are allowed everywhere: they keep declared shapes. */
import type { Node } from '../ir/node.ts';
import { CONTRIB_OPS } from './contrib.ts';
import { CONV_OPS } from './conv.ts';
import { ELEMENTWISE_OPS } from './elementwise.ts';
import { INPUT_FACTS } from './inputs.ts';
import { MATMUL_OPS } from './matmul.ts';
import { NORMALIZATION_OPS } from './normalization.ts';
import { QUANTIZATION_OPS } from './quantization.ts';
import { RECURRENT_OPS } from './recurrent.ts';
import { RESAMPLE_OPS } from './resample.ts';
import { SHAPE_OPS } from './shape-ops.ts';
import { SHAPE_VALUES } from './shape-values.ts';
import { TFLITE_OPS } from './tflite.ts';
import { TRAINABLE } from './trainable.ts';
import type { OpSpec } from './types.ts';

const CONTROL_OPS: OpSpec[] = ['If', 'Loop', 'Scan'].map((op) => ({ op, domain: '', category: 'control' }));

/**
 * Adds a column kept in a file of its own (keyed by default-domain op type) to the specs.
 * A key naming no op in the table is an error: the column would silently never be read.
 */
export function mergeColumn<K extends keyof OpSpec>(specs: readonly OpSpec[], column: K, values: Readonly<Record<string, OpSpec[K]>>): OpSpec[] {
  const known = new Set(specs.filter((s) => s.domain === '').map((s) => s.op));
  const stray = Object.keys(values).filter((op) => !known.has(op));
  if (stray.length) throw new Error(`op table: the ${column} column names op(s) missing from the table: ${stray.join(', ')}`);
  return specs.map((s) => (s.domain === '' && Object.hasOwn(values, s.op) ? { ...s, [column]: values[s.op] } : s));
}

const BASE: readonly OpSpec[] = [
  ...CONV_OPS,
  ...ELEMENTWISE_OPS,
  ...MATMUL_OPS,
  ...NORMALIZATION_OPS,
  ...SHAPE_OPS,
  ...RESAMPLE_OPS,
  ...QUANTIZATION_OPS,
  ...CONTRIB_OPS,
  ...CONTROL_OPS,
  ...RECURRENT_OPS,
];

export const OPS: readonly OpSpec[] = mergeColumn(
  mergeColumn(mergeColumn(mergeColumn(BASE, 'trainable', TRAINABLE), 'tflite', TFLITE_OPS), 'inputs', INPUT_FACTS),
  'value',
  SHAPE_VALUES,
);

const key = (domain: string, op: string) => `${domain === 'ai.onnx' ? '' : domain}::${op}`;
const TABLE = new Map(OPS.map((s) => [key(s.domain, s.op), s]));

export function opSpec(node: Pick<Node, 'opType' | 'domain'>): OpSpec | undefined {
  return TABLE.get(key(node.domain, node.opType));
}

/** Default-domain op types whose spec satisfies `test`, in table order. */
export function opTypesWhere(test: (spec: OpSpec) => boolean | undefined): string[] {
  return OPS.filter((s) => s.domain === '' && test(s)).map((s) => s.op);
}

/**
 * The nodes, in every graph and subgraph, that show a model is quantized already: Q/DQ pairs,
 * integer kernels (ConvInteger, MatMulInteger, QLinear*), DynamicQuantizeLinear, MatMulNBits.
 */
export function quantizedNodes(model: { graph: { walk(): Iterable<{ nodes: readonly Node[] }> } }): Node[] {
  const found: Node[] = [];
  for (const g of model.graph.walk()) for (const n of g.nodes) if (opSpec(n)?.quantized) found.push(n);
  return found;
}
