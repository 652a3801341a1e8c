/** The contract between the export driver and the per-category lowering functions. */
import type { Node } from '../../ir/node.ts';
import type { ConstValue, Emitter, Mode } from '../emitter.ts';

/** Why a node cannot be exported; listed with the node's name before anything is written. */
export type ProblemCode = 'unsupported-op' | 'non-constant-weight' | 'unsupported-attribute';

export interface Problem {
  code: ProblemCode;
  detail: string;
}

export interface CheckContext {
  constant(name: string): ConstValue | undefined;
  shape(name: string): number[] | undefined;
  opset: number;
}

export interface LowerContext {
  readonly e: Emitter;
  readonly node: Node;
  /** float: float tensors (with int8 weights in a dynamic-range export); int8: full integer. */
  readonly mode: Mode;
  readonly opset: number;
  /** Constant value of input `i`, if it is one. */
  constant(i: number): ConstValue | undefined;
}

export interface Lowering {
  /** Reasons the node cannot be exported (empty: it can). */
  check?(node: Node, ctx: CheckContext): Problem[];
  lower(ctx: LowerContext): void;
}

export const problem = (code: ProblemCode, detail: string): Problem => ({ code, detail });

/** Refuses non-constant inputs at the given positions (weights, shapes, axes). */
export function needConstants(node: Node, ctx: CheckContext, positions: number[], what: string): Problem[] {
  return positions
    .filter((i) => node.inputs[i] && !ctx.constant(node.inputs[i]!))
    .map((i) => problem('non-constant-weight', `${what} (input ${i}, '${node.inputs[i]}') must be a constant`));
}
