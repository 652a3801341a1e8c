/** Ops that move or select elements: Reshape, Flatten, Transpose, Concat, Squeeze … */
import type { TensorType } from '../ir/value.ts';
import { msKernel } from './contrib.ts';
import { normalizeAxis, product, resolveReshape } from './shape-math.ts';
import type { InferContext, OpSpec } from './types.ts';

function constInts(ctx: InferContext, i: number): number[] | undefined {
  const t = ctx.constant(i);
  return t ? Array.from(t.typed(), Number) : undefined;
}

function inferReshape(ctx: InferContext): (TensorType | undefined)[] {
  const x = ctx.inputs[0];
  // A constant target, or one computed from shapes (Shape → Gather → Concat) with free dims kept symbolic.
  const target = ctx.value(1);
  if (!target) return [{ dtype: x?.dtype, shape: undefined }];
  const allowZero = ctx.node.getInt('allowzero', 0) === 1;
  if (x?.shape && target.includes(-1)) {
    const total = product(x.shape);
    const known = product(target.map((d, i) => (i === target.indexOf(-1) ? 1 : d === 0 && !allowZero ? x.shape![i] : d)));
    if (typeof total === 'number' && typeof known === 'number' && known !== 0 && total % known !== 0) {
      throw new RangeError(`cannot reshape ${total} elements into [${target.join(',')}]`);
    }
  }
  const shape = x?.shape ? resolveReshape(x.shape, target, allowZero) : target.map((d) => (d === 0 || d === -1 ? undefined : d));
  return [{ dtype: x?.dtype, shape }];
}

function inferFlatten({ node, inputs }: InferContext) {
  const x = inputs[0];
  if (!x?.shape) return [{ dtype: x?.dtype, shape: undefined }];
  const axis = node.getInt('axis', 1);
  const a = axis < 0 ? axis + x.shape.length : axis;
  return [{ dtype: x.dtype, shape: [product(x.shape.slice(0, a)), product(x.shape.slice(a))] }];
}

function inferTranspose({ node, inputs }: InferContext) {
  const x = inputs[0];
  if (!x?.shape) return [x];
  const perm = node.getInts('perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
  return [{ dtype: x.dtype, shape: perm.map((p) => x.shape![p]) }];
}

function inferConcat({ node, inputs }: InferContext) {
  const first = inputs.find((t) => t?.shape);
  if (!first?.shape || inputs.some((t) => !t?.shape)) return [{ dtype: first?.dtype, shape: undefined }];
  const axis = normalizeAxis(node.getInt('axis', 0), first.shape.length);
  const shape = [...first.shape];
  shape[axis] = inputs.every((t) => typeof t!.shape![axis] === 'number')
    ? inputs.reduce((n, t) => n + (t!.shape![axis] as number), 0)
    : undefined;
  return [{ dtype: first.dtype, shape }];
}

/** Axes from the attribute (older opsets) or from the second input (newer ones). */
function axesOf(ctx: InferContext): number[] | undefined {
  return ctx.node.getInts('axes') ?? constInts(ctx, 1);
}

function inferSqueeze(ctx: InferContext) {
  const x = ctx.inputs[0];
  if (!x?.shape) return [{ dtype: x?.dtype, shape: undefined }];
  const axes = axesOf(ctx)?.map((a) => normalizeAxis(a, x.shape!.length));
  return [{ dtype: x.dtype, shape: x.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)) }];
}

function inferUnsqueeze(ctx: InferContext) {
  const x = ctx.inputs[0];
  const axes = axesOf(ctx);
  if (!x?.shape || !axes) return [{ dtype: x?.dtype, shape: undefined }];
  const rank = x.shape.length + axes.length;
  const at = new Set(axes.map((a) => normalizeAxis(a, rank)));
  const rest = [...x.shape];
  return [{ dtype: x.dtype, shape: Array.from({ length: rank }, (_, i) => (at.has(i) ? 1 : rest.shift())) }];
}

function inferReduce(ctx: InferContext) {
  const x = ctx.inputs[0];
  if (!x?.shape) return [{ dtype: x?.dtype, shape: undefined }];
  const keep = ctx.node.getInt('keepdims', 1) === 1;
  const given = axesOf(ctx);
  const axes = new Set((given && given.length ? given : x.shape.map((_, i) => i)).map((a) => normalizeAxis(a, x.shape!.length)));
  const shape = x.shape.flatMap((d, i) => (axes.has(i) ? (keep ? [1] : []) : [d]));
  return [{ dtype: x.dtype, shape }];
}

/** Pads from the attribute (before opset 11) or the constant second input; an axes input (18) is not followed. */
function inferPad(ctx: InferContext) {
  const x = ctx.inputs[0];
  const pads = ctx.node.getInts('pads') ?? constInts(ctx, 1);
  const rank = x?.shape?.length;
  if (!x?.shape || !pads || ctx.node.inputs[3] || pads.length !== 2 * rank!) return [{ dtype: x?.dtype, shape: undefined }];
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (typeof d === 'number' ? d + pads[i]! + pads[i + rank!]! : undefined)) }];
}

function inferGather({ node, inputs }: InferContext) {
  const [x, idx] = inputs;
  if (!x?.shape || !idx?.shape) return [{ dtype: x?.dtype, shape: undefined }];
  const axis = normalizeAxis(node.getInt('axis', 0), x.shape.length);
  return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)] }];
}

function inferConstant({ node }: InferContext) {
  const t = node.getTensor('value');
  if (t) return [{ dtype: t.dtype, shape: [...t.dims] }];
  const ints = node.getInts('value_ints');
  if (ints) return [{ dtype: 'int64' as const, shape: [ints.length] }];
  if (node.attr('value_int')) return [{ dtype: 'int64' as const, shape: [] }];
  if (node.attr('value_float')) return [{ dtype: 'float32' as const, shape: [] }];
  const floats = node.attr('value_floats')?.value as number[] | undefined;
  if (floats) return [{ dtype: 'float32' as const, shape: [floats.length] }];
  return [undefined];
}

function inferArgMax({ node, inputs }: InferContext) {
  const x = inputs[0];
  if (!x?.shape) return [{ dtype: 'int64' as const, shape: undefined }];
  const axis = normalizeAxis(node.getInt('axis', 0), x.shape.length);
  const keep = node.getInt('keepdims', 1) === 1;
  return [{ dtype: 'int64' as const, shape: x.shape.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d])) }];
}

/** ReduceSum took `axes` as an input from opset 13, the other reductions from 18. */
const reduce = (op: string): OpSpec => ({ op, domain: '', category: 'reduce', infer: inferReduce, foldable: true, axesInputSince: op === 'ReduceSum' ? 13 : 18, channels: 'reduce' });

/** Value-preserving ops that onnxruntime runs on int8 tensors as they are. */
const moving = (op: string, infer?: OpSpec['infer']): OpSpec => ({ op, domain: '', category: 'shape', infer, valuePreserving: true, foldable: true, int8Native: true });

export const SHAPE_OPS: OpSpec[] = [
  { ...moving('Reshape', inferReshape), qdqPropagated: true, channels: 'reshape' },
  { ...moving('Flatten', inferFlatten), channels: 'flatten' },
  { ...moving('Transpose', inferTranspose), qdqPropagated: true, channels: 'transpose' },
  { ...moving('Concat', inferConcat), quant: 'concat', qoperator: msKernel('QLinearConcat'), dataInputs: 'all', channels: 'concat' },
  { ...moving('Squeeze', inferSqueeze), axesInputSince: 13, qdqPropagated: true, channels: 'squeeze' },
  { ...moving('Unsqueeze', inferUnsqueeze), axesInputSince: 13, qdqPropagated: true, channels: 'unsqueeze' },
  moving('Gather', inferGather),
  { ...moving('Slice'), qdqPropagated: true, channels: 'slice' },
  { ...moving('Split'), channels: 'split' },
  { op: 'Pad', domain: '', category: 'shape', infer: inferPad, foldable: true, channels: 'pad' },
  moving('Expand'),
  moving('Tile'),
  {
    op: 'Shape',
    domain: '',
    category: 'shape',
    infer: ({ inputs }) => [{ dtype: 'int64', shape: inputs[0]?.shape ? [inputs[0].shape.length] : [undefined] }],
    foldable: true,
    channels: 'shape-only',
  },
  { op: 'Size', domain: '', category: 'shape', infer: () => [{ dtype: 'int64', shape: [] }], foldable: true, channels: 'shape-only' },
  { op: 'Constant', domain: '', category: 'constant', infer: inferConstant, foldable: true },
  ...['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'].map(reduce),
  { op: 'ArgMax', domain: '', category: 'reduce', infer: inferArgMax, foldable: true },
  { op: 'ArgMin', domain: '', category: 'reduce', infer: inferArgMax, foldable: true },
  { op: 'ConstantOfShape', domain: '', category: 'constant' },
  // Known for their input facts (./inputs.ts: shape and index inputs); no other column yet.
  ...['DepthToSpace', 'SpaceToDepth', 'NonZero', 'Trilu', 'GatherElements', 'GatherND', 'Range', 'ScatterElements', 'ScatterND', 'TopK', 'OneHot', 'CumSum', 'NonMaxSuppression'].map(
    (op): OpSpec => ({ op, domain: '', category: 'shape' }),
  ),
];
