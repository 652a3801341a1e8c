/**
 * The executor's per-op contract. A kernel reads its inputs through the context (in the
 * layout it wants, or host numbers for shape-like inputs) and returns one Value (or tensor,
 * taken as channels-first float32) per output. Kernels are plain functions in files by op
 * category; `check` says, before anything runs, why a node's attributes are unsupported.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Node } from '../../ir/node.ts';
import type { Tensor } from '../../ir/tensor.ts';
import type { Value } from './value.ts';

export interface KernelContext {
  readonly node: Node;
  readonly opset: number;
  /** Train mode: batch statistics in BatchNormalization. */
  readonly training: boolean;
  /** Whether train-mode BatchNormalization updates its running statistics. */
  readonly updateStats: boolean;
  /** Weight of the old running statistics when they move (default: the node's `momentum`). */
  readonly statsMomentum: number | undefined;
  /** Input i, or undefined when omitted (empty name). */
  value(i: number): Value | undefined;
  /** Input i channels-first; throws when omitted. */
  x(i: number): tf.Tensor;
  /** Input i's values on the host (a constant's are known before the run; others are read back). */
  numbers(i: number): number[] | undefined;
  /** The initializer or Constant behind input i, if any. */
  constant(i: number): Tensor | undefined;
  /** Input i is an integer weight trained as a float shadow (DequantizeLinear fake-quantizes it). */
  isShadow(i: number): boolean;
  /** A variable the executor keeps for this node's state (BatchNormalization running stats). */
  stateVariable(i: number): tf.Variable | undefined;
}

export type KernelResult = Value | tf.Tensor;

export interface KernelSpec {
  run(ctx: KernelContext): KernelResult[];
  /** Why this node cannot run (an unsupported attribute), or undefined. */
  check?(node: Node, opset: number): string | undefined;
}

export type KernelTable = Readonly<Record<string, KernelSpec>>;
