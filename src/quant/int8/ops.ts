/**
 * The int8 quantizer's view of the op table: each op's quantization kind and the op types
 * it can handle. The facts themselves (quant, quantOptIn, int8Native, dataInputs …) are
 * columns of the table, so the quantizer and the rest of the toolchain agree on what an op is.
 */
import type { Node } from '../../ir/node.ts';
import { opSpec, opTypesWhere } from '../../ops/registry.ts';
import type { QuantKind } from '../../ops/types.ts';

export type { QuantKind };

export function quantKind(node: Pick<Node, 'opType' | 'domain'>): QuantKind | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  const spec = opSpec(node);
  return spec?.quant ?? (spec?.valuePreserving ? 'preserving' : undefined);
}

/** Value-preserving ops onnxruntime's CPU provider runs on int8/uint8 tensors as they are. */
export const INT8_NATIVE: ReadonlySet<string> = new Set(opTypesWhere((s) => s.int8Native));

/** Inputs of a value-preserving op that carry the values (the rest are shapes, indices, axes). */
export function dataInputs(node: Node): number[] {
  const data = opSpec(node)?.dataInputs ?? [0];
  return data === 'all' ? node.inputs.map((_, i) => i) : [...data];
}

/** Every op type the int8 quantizer can handle. */
export const SUPPORTED_OP_TYPES: readonly string[] = opTypesWhere((s) => s.quant !== undefined || s.valuePreserving || s.weightOnly !== undefined);

/**
 * Quantized by default: the compute layers, residual adds, pools, ReLU/Clip (folded) and every
 * value-preserving op. Opt-in ops (Sigmoid, LeakyRelu, Softmax: `opTypes`) have outputs that
 * are sensitive and cheap to compute in float.
 */
export const DEFAULT_OP_TYPES: readonly string[] = opTypesWhere((s) => (s.quant !== undefined || s.valuePreserving || s.weightOnly !== undefined) && !s.quantOptIn);

/** Ops that run the arithmetic of a network (what fallback and sensitivity rank). */
export function isLayer(kind: QuantKind): boolean {
  return kind !== 'preserving' && kind !== 'concat' && kind !== 'activation';
}
