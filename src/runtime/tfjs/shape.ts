/**
 * Shape and data-movement kernels, channels-first. Shape-like inputs (Reshape's shape,
 * Slice's starts, Pad's pads, axes) are read as host numbers: from the initializer when
 * constant, else read back from the value (Shape → Gather → Concat chains of exports).
 */
import * as tf from '@tensorflow/tfjs';
import { dtypeFromCode, isFloatDType, type DType } from '../../onnx/dtype.ts';
import type { Tensor } from '../../ir/tensor.ts';
import type { KernelContext, KernelTable } from './kernel.ts';
import { Value } from './value.ts';

const norm = (a: number, rank: number) => (a < 0 ? a + rank : a);
const same = (ctx: KernelContext, t: tf.Tensor) => new Value(t, ctx.value(0)!.dtype);

function reshape(ctx: KernelContext): Value {
  const x = ctx.x(0);
  const allowZero = ctx.node.getInt('allowzero', 0) === 1;
  const shape = ctx.numbers(1)!.map((d, i) => (d === 0 && !allowZero ? x.shape[i]! : d));
  return same(ctx, x.reshape(shape));
}

function flatten(ctx: KernelContext): Value {
  const x = ctx.x(0);
  const axis = norm(ctx.node.getInt('axis', 1), x.rank);
  const rows = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return same(ctx, x.reshape([rows, x.size / Math.max(rows, 1)]));
}

function transpose(ctx: KernelContext): Value {
  const x = ctx.x(0);
  const perm = ctx.node.getInts('perm') ?? [...Array(x.rank).keys()].reverse();
  return same(ctx, x.transpose(perm));
}

function axesOf(ctx: KernelContext, inputIndex: number, fromOpset: number): number[] | undefined {
  return ctx.opset >= fromOpset ? ctx.numbers(inputIndex) : ctx.node.getInts('axes');
}

/**
 * ONNX Slice with its clamping rules. Unit steps are one tf.slice; other steps gather the
 * chosen indices (tfjs's stridedSlice has no gradient; gather's is a segment sum).
 */
function slice(ctx: KernelContext): Value {
  const x = ctx.x(0);
  const old = ctx.opset < 10;
  const starts = old ? ctx.node.getInts('starts')! : ctx.numbers(1)!;
  const ends = old ? ctx.node.getInts('ends')! : ctx.numbers(2)!;
  const axes = (old ? ctx.node.getInts('axes') : ctx.numbers(3)) ?? starts.map((_, i) => i);
  const steps = (old ? undefined : ctx.numbers(4)) ?? starts.map(() => 1);
  let t = x;
  axes.forEach((a0, i) => {
    const a = norm(a0, x.rank);
    const dim = x.shape[a]!;
    const step = steps[i]!;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    const b = step > 0 ? clamp(starts[i]!, 0, dim) : clamp(starts[i]!, 0, dim - 1);
    const e = step > 0 ? clamp(ends[i]!, 0, dim) : clamp(ends[i]!, -1, dim - 1);
    if (step === 1) {
      const begin = t.shape.map((_, k) => (k === a ? b : 0));
      const size = t.shape.map((d, k) => (k === a ? Math.max(e - b, 0) : d));
      t = t.slice(begin, size);
      return;
    }
    const picked: number[] = [];
    for (let k = b; step > 0 ? k < e : k > e; k += step) picked.push(k);
    t = tf.gather(t, tf.tensor1d(picked, 'int32'), a);
  });
  return same(ctx, t);
}

/** Reflect padding from slices, reversals and concatenation (tfjs's MirrorPad gradient does not match ONNX reflect). */
function reflectPad(x: tf.Tensor, pairs: [number, number][]): tf.Tensor {
  let t = x;
  pairs.forEach(([before, after], axis) => {
    if (!before && !after) return;
    const dim = t.shape[axis]!;
    const part = (from: number, count: number) => t.slice(t.shape.map((_, k) => (k === axis ? from : 0)), t.shape.map((d, k) => (k === axis ? count : d))).reverse(axis);
    const pieces = [before ? part(1, before) : undefined, t, after ? part(dim - 1 - after, after) : undefined].filter((p): p is tf.Tensor => p !== undefined);
    t = tf.concat(pieces, axis);
  });
  return t;
}

function squeeze(ctx: KernelContext): Value {
  const x = ctx.x(0);
  const axes = axesOf(ctx, 1, 13);
  return same(ctx, x.squeeze(axes?.map((a) => norm(a, x.rank))));
}

function unsqueeze(ctx: KernelContext): Value {
  const x = ctx.x(0);
  const axes = axesOf(ctx, 1, 13)!;
  const rank = x.rank + axes.length;
  const set = new Set(axes.map((a) => norm(a, rank)));
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(set.has(i) ? 1 : x.shape[k++]!);
  return same(ctx, x.reshape(shape));
}

/** Pad: positive amounts pad, negative ones crop; constant and reflect modes. */
function pad(ctx: KernelContext): Value {
  const x = ctx.x(0);
  const old = ctx.opset < 11;
  const flat = old ? ctx.node.getInts('pads')! : ctx.numbers(1)!;
  const value = old ? ctx.node.getFloat('value', 0) : (ctx.numbers(2)?.[0] ?? 0);
  const axes = (old ? undefined : ctx.numbers(3))?.map((a) => norm(a, x.rank)) ?? [...Array(x.rank).keys()];
  const pairs: [number, number][] = x.shape.map(() => [0, 0]);
  axes.forEach((a, i) => (pairs[a] = [flat[i]!, flat[i + axes.length]!]));
  const crop = pairs.map(([b, e]) => [Math.max(-b, 0), Math.max(-e, 0)]);
  let t = x;
  if (crop.some(([b, e]) => b || e)) t = t.slice(crop.map(([b]) => b), x.shape.map((d, i) => d - crop[i]![0]! - crop[i]![1]!));
  const grow = pairs.map(([b, e]) => [Math.max(b, 0), Math.max(e, 0)] as [number, number]);
  const mode = ctx.node.getString('mode', 'constant');
  if (grow.some(([b, e]) => b || e)) t = mode === 'reflect' ? reflectPad(t, grow) : t.pad(grow, value);
  return same(ctx, t);
}

function split(ctx: KernelContext): Value[] {
  const x = ctx.x(0);
  const axis = norm(ctx.node.getInt('axis', 0), x.rank);
  const count = ctx.node.outputs.length;
  const sizes = (ctx.opset >= 13 ? ctx.numbers(1) : ctx.node.getInts('split')) ?? evenSplit(x.shape[axis]!, count);
  return tf.split(x, sizes, axis).map((t) => same(ctx, t));
}

function evenSplit(dim: number, parts: number): number[] {
  const size = Math.ceil(dim / parts);
  return Array.from({ length: parts }, (_, i) => Math.min(size, dim - i * size));
}

function gather(ctx: KernelContext): Value {
  const x = ctx.x(0);
  const axis = norm(ctx.node.getInt('axis', 0), x.rank);
  const iv = ctx.value(1)!;
  const idx = ctx.numbers(1)!.map((i) => (i < 0 ? i + x.shape[axis]! : i));
  const indices = tf.tensor(idx, iv.shape, 'int32');
  return same(ctx, tf.gather(x, indices, axis));
}

function shapeOf(ctx: KernelContext): Value {
  const dims = ctx.value(0)!.shape;
  const start = norm(ctx.node.getInt('start', 0), dims.length);
  const end = ctx.node.attr('end') ? norm(ctx.node.getInt('end', dims.length), dims.length) : dims.length;
  const out = dims.slice(Math.max(start, 0), Math.min(end, dims.length));
  return new Value(tf.tensor1d(out, 'int32'), 'int64');
}

function cast(ctx: KernelContext): Value {
  const to = dtypeFromCode(ctx.node.getInt('to', 1)) ?? 'float32';
  const x = ctx.x(0);
  if (isFloatDType(to)) return new Value(x.dtype === 'float32' ? x : x.cast('float32'), to);
  if (to === 'bool') return new Value(x.cast('bool'), to);
  return new Value(x.cast('int32'), to);
}

/** A tensor from the IR as a tfjs tensor: floats as float32, integers as int32, bool as bool. */
export function tensorToTf(t: Tensor): { tensor: tf.Tensor; dtype: DType } {
  if (isFloatDType(t.dtype)) return { tensor: tf.tensor(t.toFloat32(), t.dims, 'float32'), dtype: t.dtype };
  if (t.dtype === 'bool') return { tensor: tf.tensor(Array.from(t.typed() as Uint8Array, (v) => v !== 0), t.dims, 'bool'), dtype: 'bool' };
  return { tensor: tf.tensor(Int32Array.from(t.toFloat32()), t.dims, 'int32'), dtype: t.dtype };
}

export const SHAPE_KERNELS: KernelTable = {
  Reshape: { run: (ctx) => [reshape(ctx)] },
  Flatten: { run: (ctx) => [flatten(ctx)] },
  Transpose: { run: (ctx) => [transpose(ctx)] },
  Concat: {
    run: (ctx) => {
      const parts = ctx.node.inputs.map((_, i) => ctx.x(i));
      const axis = norm(ctx.node.getInt('axis', 0), parts[0]!.rank);
      return [same(ctx, tf.concat(parts, axis))];
    },
  },
  Slice: { run: (ctx) => [slice(ctx)] },
  Squeeze: { run: (ctx) => [squeeze(ctx)] },
  Unsqueeze: { run: (ctx) => [unsqueeze(ctx)] },
  Pad: {
    run: (ctx) => [pad(ctx)],
    check: (node) => {
      const mode = node.getString('mode', 'constant');
      return mode === 'constant' || mode === 'reflect' ? undefined : `Pad mode '${mode}' is not supported`;
    },
  },
  Identity: { run: (ctx) => [ctx.value(0)!] },
  Dropout: {
    run: (ctx) => [ctx.value(0)!],
    check: (node) => (node.outputs[1] ? 'Dropout mask output is not supported' : undefined),
  },
  Split: { run: (ctx) => split(ctx) },
  Gather: { run: (ctx) => [gather(ctx)] },
  Shape: { run: (ctx) => [shapeOf(ctx)] },
  Cast: { run: (ctx) => [cast(ctx)] },
  Constant: {
    run: (ctx) => {
      const t = ctx.node.getTensor('value');
      if (t) {
        const { tensor, dtype } = tensorToTf(t);
        return [new Value(tensor, dtype)];
      }
      const f = ctx.node.attr('value_float') ?? ctx.node.attr('value_floats');
      if (f) return [new Value(tf.tensor(f.value as number | number[], undefined, 'float32'))];
      const i = ctx.node.getInts('value_ints') ?? [ctx.node.getInt('value_int', 0)];
      return [new Value(ctx.node.attr('value_ints') ? tf.tensor1d(i, 'int32') : tf.scalar(i[0]!, 'int32'), 'int64')];
    },
    check: (node) => (['value', 'value_float', 'value_floats', 'value_int', 'value_ints'].some((a) => node.attr(a)) ? undefined : 'Constant without a numeric value'),
  },
};
