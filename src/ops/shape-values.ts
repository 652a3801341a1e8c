/**
 * The op table's `value` column: the values of a small integer output (a shape computation)
 * from its inputs' values and shapes, as ONNX shape inference's data propagation does. Values
 * are dims: a size, a symbolic name where a size is free ('N'), or unknown — so
 * Shape → Gather → Unsqueeze → Concat → Reshape resolves to [N, 120, -1] even with a free
 * batch dim, where constant folding (which needs every value) cannot. Merged into the table by
 * registry.ts; inference (./infer.ts) fills the values, Reshape's inference reads them.
 */
import type { Dim } from '../ir/value.ts';
import type { ValueContext } from './types.ts';

type ValueRule = (ctx: ValueContext) => Dim[] | undefined;

/** Integer dtypes a shape computation may pass through (ONNX TensorProto codes). */
const INTEGER_CODES = new Set([2, 3, 4, 5, 6, 7, 12, 13]);

const passThrough: ValueRule = (ctx) => ctx.value(0);

/** An ints attribute (older opsets) or the known values of an input (newer ones), all numbers. */
function ints(ctx: ValueContext, attr: string, input: number): number[] | undefined {
  const a = ctx.node.getInts(attr);
  if (a) return a;
  const v = ctx.node.inputs[input] ? ctx.value(input) : undefined;
  return v?.every((d): d is number => typeof d === 'number') ? v : undefined;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

function shape(ctx: ValueContext): Dim[] | undefined {
  const dims = ctx.inputs[0]?.shape;
  if (!dims) return undefined;
  const r = dims.length;
  const at = (x: number) => clamp(x < 0 ? x + r : x, 0, r);
  return dims.slice(at(ctx.node.getInt('start', 0)), at(ctx.node.getInt('end', r)));
}

function gather(ctx: ValueContext): Dim[] | undefined {
  const data = ctx.value(0);
  const idx = ctx.value(1);
  if (!data || !idx || ctx.node.getInt('axis', 0) !== 0 || (ctx.inputs[0]?.shape?.length ?? 1) !== 1) return undefined;
  const out: Dim[] = [];
  for (const i of idx) {
    if (typeof i !== 'number') return undefined;
    out.push(data[i < 0 ? i + data.length : i]);
  }
  return out;
}

/** Slice of a 1-D value (numpy semantics: bounds clamped, negative steps walk back). */
function slice(ctx: ValueContext): Dim[] | undefined {
  const data = ctx.value(0);
  const starts = ints(ctx, 'starts', 1);
  const ends = ints(ctx, 'ends', 2);
  const axes = ints(ctx, 'axes', 3) ?? [0];
  const steps = ints(ctx, 'steps', 4) ?? [1];
  if (!data || !starts || !ends || starts.length !== 1 || axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) return undefined;
  const n = data.length;
  const step = steps[0]!;
  if (step === 0) return undefined;
  const bound = (x: number) => (x < 0 ? x + n : x);
  const [lo, hi] = step > 0 ? [0, n] : [-1, n - 1];
  const out: Dim[] = [];
  for (let i = clamp(bound(starts[0]!), lo, hi), end = clamp(bound(ends[0]!), lo, hi); step > 0 ? i < end : i > end; i += step) out.push(data[i]);
  return out;
}

function concat(ctx: ValueContext): Dim[] | undefined {
  const parts = ctx.node.inputs.map((_, i) => ctx.value(i));
  return parts.every((p): p is Dim[] => !!p) ? parts.flat() : undefined;
}

function cast(ctx: ValueContext): Dim[] | undefined {
  return INTEGER_CODES.has(ctx.node.getInt('to') ?? -1) ? ctx.value(0) : undefined;
}

/** Element-wise integer arithmetic, one side broadcast when it has one value; a free dim survives ×1, ÷1, ±0. */
function arithmetic(op: (a: number, b: number) => number | undefined, identity: number, symbolOnLeftOnly: boolean): ValueRule {
  return (ctx) => {
    const a = ctx.value(0);
    const b = ctx.value(1);
    if (!a || !b || (a.length !== b.length && a.length !== 1 && b.length !== 1)) return undefined;
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => {
      const x = a[a.length === 1 ? 0 : i];
      const y = b[b.length === 1 ? 0 : i];
      if (typeof x === 'number' && typeof y === 'number') return op(x, y);
      if (typeof x === 'string' && y === identity) return x;
      if (!symbolOnLeftOnly && typeof y === 'string' && x === identity) return y;
      return undefined;
    });
  };
}

export const SHAPE_VALUES: Record<string, ValueRule> = {
  Shape: shape,
  Size: (ctx) => {
    const dims = ctx.inputs[0]?.shape;
    return dims?.every((d): d is number => typeof d === 'number') ? [dims.reduce((a, b) => a * b, 1)] : undefined;
  },
  Gather: gather,
  Slice: slice,
  Concat: concat,
  Unsqueeze: passThrough,
  Squeeze: passThrough,
  Identity: passThrough,
  Cast: cast,
  Add: arithmetic((a, b) => a + b, 0, false),
  Sub: arithmetic((a, b) => a - b, 0, true),
  Mul: arithmetic((a, b) => a * b, 1, false),
  // Integer division truncates toward zero.
  Div: arithmetic((a, b) => (b === 0 ? undefined : Math.trunc(a / b)), 1, true),
};
