/** Shape and data-movement ops: RESHAPE, SQUEEZE, EXPAND_DIMS, TRANSPOSE, CONCATENATION, PAD, SLICE/STRIDED_SLICE, SOFTMAX, MEAN/SUM. */
import type { Node } from '../../ir/node.ts';
import { NHWC, NHWC_AXIS, PLAIN } from '../layout.ts';
import { commonLayout, operand } from './elementwise.ts';
import { needConstants, problem, type CheckContext, type Lowering } from './types.ts';

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** Reshape, Flatten, Squeeze, Unsqueeze: the output shape is known, so all become RESHAPE. */
const reshape: Lowering = {
  check(node, ctx) {
    const s = ctx.shape(node.outputs[0]!);
    return s ? [] : [problem('unsupported-attribute', 'output shape not known when exporting (dynamic reshape)')];
  },
  lower(ctx) {
    const { e, node, mode } = ctx;
    const xName = node.inputs[0]!;
    const inShape = e.shapeOf(xName);
    const outShape = e.shapeOf(node.outputs[0]!);
    const layout = e.layoutOf(xName);
    if (layout.kind === 'nhwc') {
      const [n, c, h, w] = inShape as [number, number, number, number];
      if (c === 1 || h * w === 1) {
        // Same bytes in NCHW and NHWC: reshape the stored tensor directly.
        const x = e.read(xName, mode);
        e.reshape(x, e.define(node.outputs[0]!, mode, PLAIN, e.qparams.get(xName)));
        return;
      }
      if (outShape.length === 2 && outShape[0] === n && outShape[1] === c * h * w) {
        // Flatten: keep (h, w, c) column order; a following FULLY_CONNECTED reorders its weights instead.
        const x = e.read(xName, mode);
        e.reshape(x, e.define(node.outputs[0]!, mode, { kind: 'hwc', c, h, w }, e.qparams.get(xName)));
        return;
      }
    }
    const x = layout.kind === 'plain' ? e.read(xName, mode) : e.readAs(xName, mode, 'plain');
    e.reshape(x, e.define(node.outputs[0]!, mode, PLAIN, mode === 'int8' ? e.qparams.get(xName) : undefined));
  },
};

/** The axes input (opset ≥ 13) or attribute of Squeeze/Unsqueeze, normalized against `rank`. */
function squeezeAxes(node: Node, constant: (i: number) => { data: Float32Array } | undefined, rank: number): number[] | undefined {
  const a = node.getInts('axes') ?? (node.inputs[1] ? (constant(1) ? Array.from(constant(1)!.data) : undefined) : undefined);
  return a?.map((x) => normAxis(x, rank));
}

/** Squeeze → SQUEEZE, Unsqueeze of one axis → EXPAND_DIMS (several axes: RESHAPE). */
function squeeze(op: 'SQUEEZE' | 'EXPAND_DIMS'): Lowering {
  return {
    check: reshape.check,
    lower(ctx) {
      const { e, node, mode } = ctx;
      const xName = node.inputs[0]!;
      const outRank = e.shapeOf(node.outputs[0]!).length;
      const axes = squeezeAxes(node, ctx.constant, op === 'SQUEEZE' ? e.shapeOf(xName).length : outRank);
      if (!axes || (op === 'EXPAND_DIMS' && axes.length !== 1) || e.layoutOf(xName).kind !== 'plain') {
        reshape.lower(ctx);
        return;
      }
      const x = e.read(xName, mode);
      const out = e.define(node.outputs[0]!, mode, PLAIN, mode === 'int8' ? e.qparams.get(xName) : undefined);
      if (op === 'SQUEEZE') e.emit('SQUEEZE', [x], [out], { name: 'SqueezeOptions', fields: [{ slot: 0, kind: 'int32s', value: axes }] });
      else e.emit('EXPAND_DIMS', [x, e.int32Const('axis', [axes[0]!], [])], [out], { name: 'ExpandDimsOptions', fields: [] });
    },
  };
}

const transpose: Lowering = {
  lower(ctx) {
    const { e, node, mode } = ctx;
    const xName = node.inputs[0]!;
    const rank = e.shapeOf(xName).length;
    const perm = node.getInts('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    if (e.layoutOf(xName).kind === 'nhwc' && perm.join() === '0,2,3,1') {
      // NCHW → NHWC of a value already stored NHWC: nothing to move.
      e.bind(node.outputs[0]!, mode, PLAIN, e.read(xName, mode));
      return;
    }
    const x = e.readAs(xName, mode, 'plain');
    e.transpose(x, e.define(node.outputs[0]!, mode, PLAIN, mode === 'int8' ? e.qparams.get(xName) : undefined), perm);
  },
};

const concat: Lowering = {
  lower(ctx) {
    const { e, node, mode } = ctx;
    const layout = commonLayout(ctx, node.inputs);
    const rank = e.shapeOf(node.outputs[0]!).length;
    let axis = normAxis(node.getInt('axis', 0), rank);
    if (layout.kind === 'nhwc') axis = NHWC_AXIS[axis]!;
    const out = e.define(node.outputs[0]!, mode, layout);
    const outQ = e.tensors[out]!.quantization;
    const inputs = node.inputs.map((name) => {
      const t = operand(ctx, name, mode, layout);
      const q = e.tensors[t]!.quantization;
      if (mode !== 'int8' || !outQ || !q || (q.scale[0] === outQ.scale[0] && q.zeroPoint[0] === outQ.zeroPoint[0])) return t;
      // int8 CONCATENATION needs every input on the output's scale: requantize.
      const r = e.addTensor({ name: `${name}/requant`, shape: e.tensors[t]!.shape, type: 'INT8', quantization: outQ });
      e.emit('QUANTIZE', [t], [r]);
      return r;
    });
    e.emit('CONCATENATION', inputs, [out], { name: 'ConcatenationOptions', fields: [{ slot: 0, kind: 'int32', value: axis }, { slot: 1, kind: 'int8', value: 0 }] });
  },
};

function axesOf(node: Node, constant: (name: string) => { data: Float32Array } | undefined, rank: number): number[] | undefined {
  const attr = node.getInts('axes');
  if (attr) return attr.map((a) => normAxis(a, rank));
  if (node.inputs[1]) {
    const c = constant(node.inputs[1]);
    return c ? Array.from(c.data, (a) => normAxis(a, rank)) : undefined;
  }
  return Array.from({ length: rank }, (_, i) => i);
}

function reduce(op: 'MEAN' | 'SUM'): Lowering {
  return {
    check(node, ctx) {
      const rank = ctx.shape(node.inputs[0]!)?.length ?? 0;
      if (node.inputs[1] && !ctx.constant(node.inputs[1])) return [problem('non-constant-weight', 'reduction axes must be a constant')];
      if (node.getInt('noop_with_empty_axes', 0) === 1 && axesOf(node, (n) => ctx.constant(n), rank)?.length === 0) return [problem('unsupported-attribute', 'noop_with_empty_axes')];
      return [];
    },
    lower(ctx) {
      const { e, node, mode } = ctx;
      const xName = node.inputs[0]!;
      const rank = e.shapeOf(xName).length;
      const keep = node.getInt('keepdims', 1) === 1;
      let axes = axesOf(node, (n) => e.constants.get(n), rank)!;
      let layout = PLAIN;
      let x: number;
      if (e.layoutOf(xName).kind === 'nhwc' && keep) {
        layout = NHWC;
        axes = axes.map((a) => NHWC_AXIS[a]!);
        x = e.read(xName, mode);
      } else x = e.readAs(xName, mode, 'plain');
      const out = e.define(node.outputs[0]!, mode, layout);
      e.emit(op, [x, e.int32Const('axes', axes)], [out], { name: 'ReducerOptions', fields: [{ slot: 0, kind: 'bool', value: keep }] });
    },
  };
}

const softmax: Lowering = {
  check(node, ctx: CheckContext) {
    const rank = ctx.shape(node.inputs[0]!)?.length ?? 0;
    const axis = normAxis(node.getInt('axis', ctx.opset >= 13 ? -1 : 1), rank);
    return axis === rank - 1 || (rank === 4 && axis === 1) ? [] : [problem('unsupported-attribute', `Softmax over axis ${axis} of a rank-${rank} tensor (only the last axis, or channels of an NHWC tensor)`)];
  },
  lower(ctx) {
    const { e, node, mode } = ctx;
    const xName = node.inputs[0]!;
    const rank = e.shapeOf(xName).length;
    const axis = normAxis(node.getInt('axis', ctx.opset >= 13 ? -1 : 1), rank);
    const nhwc = rank === 4 && axis === 1;
    const x = nhwc ? e.readAs(xName, mode, 'nhwc') : e.readAs(xName, mode, 'plain');
    const out = e.define(node.outputs[0]!, mode, nhwc ? NHWC : PLAIN);
    e.emit('SOFTMAX', [x], [out], { name: 'SoftmaxOptions', fields: [{ slot: 0, kind: 'float32', value: 1 }] });
  },
};

const pad: Lowering = {
  check(node, ctx) {
    const out = needConstants(node, ctx, [1, 2], 'Pad pads/value');
    if (node.getString('mode', 'constant') !== 'constant') out.push(problem('unsupported-attribute', `Pad mode ${node.getString('mode')}`));
    const v = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
    if (v && v.data[0] !== 0) out.push(problem('unsupported-attribute', 'Pad with a non-zero value'));
    if (node.inputs[3]) out.push(problem('unsupported-attribute', 'Pad with axes'));
    return out;
  },
  lower(ctx) {
    const { e, node, mode } = ctx;
    const xName = node.inputs[0]!;
    const rank = e.shapeOf(xName).length;
    const pads = node.getInts('pads') ?? Array.from(ctx.constant(1)!.data);
    const layout = e.layoutOf(xName).kind === 'nhwc' ? NHWC : PLAIN;
    const x = layout.kind === 'nhwc' ? e.read(xName, mode) : e.readAs(xName, mode, 'plain');
    const order = layout.kind === 'nhwc' ? [0, 2, 3, 1] : Array.from({ length: rank }, (_, i) => i);
    const paddings = order.flatMap((a) => [pads[a]!, pads[a + rank]!]);
    const out = e.define(node.outputs[0]!, mode, layout, mode === 'int8' ? e.qparams.get(xName) : undefined);
    e.emit('PAD', [x, e.int32Const('paddings', paddings, [rank, 2])], [out], { name: 'PadOptions', fields: [] });
  },
};

const slice: Lowering = {
  check(node, ctx) {
    const out = needConstants(node, ctx, [1, 2, 3, 4], 'Slice starts/ends/axes/steps');
    const steps = node.inputs[4] ? ctx.constant(node.inputs[4]) : undefined;
    if (steps && steps.data.some((s) => s <= 0)) out.push(problem('unsupported-attribute', 'Slice with non-positive steps'));
    return out;
  },
  lower(ctx) {
    const { e, node, mode } = ctx;
    const xName = node.inputs[0]!;
    const shape = e.shapeOf(xName);
    const rank = shape.length;
    const get = (i: number) => (node.inputs[i] ? Array.from(ctx.constant(i)!.data) : undefined);
    const starts = get(1) ?? node.getInts('starts')!;
    const ends = get(2) ?? node.getInts('ends')!;
    const axes = (get(3) ?? node.getInts('axes') ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
    const steps = get(4) ?? starts.map(() => 1);
    const begin = shape.map(() => 0);
    const end = [...shape];
    const stride = shape.map(() => 1);
    axes.forEach((a, i) => {
      const clamp = (v: number) => Math.max(0, Math.min(shape[a]!, v < 0 ? v + shape[a]! : v));
      begin[a] = clamp(starts[i]!);
      end[a] = clamp(ends[i]!);
      stride[a] = steps[i]!;
    });
    const layout = e.layoutOf(xName).kind === 'nhwc' ? NHWC : PLAIN;
    const x = layout.kind === 'nhwc' ? e.read(xName, mode) : e.readAs(xName, mode, 'plain');
    const order = layout.kind === 'nhwc' ? [0, 2, 3, 1] : Array.from({ length: rank }, (_, i) => i);
    const out = e.define(node.outputs[0]!, mode, layout, mode === 'int8' ? e.qparams.get(xName) : undefined);
    const vec = (v: number[]) => e.int32Const('slice', order.map((a) => v[a]!));
    if (stride.every((st) => st === 1)) {
      e.emit('SLICE', [x, vec(begin), vec(end.map((en, a) => en - begin[a]!))], [out], { name: 'SliceOptions', fields: [] });
      return;
    }
    e.emit('STRIDED_SLICE', [x, vec(begin), vec(end), vec(stride)], [out], { name: 'StridedSliceOptions', fields: [{ slot: 0, kind: 'int32', value: 0 }, { slot: 1, kind: 'int32', value: 0 }] });
  },
};

export const SHAPE_LOWERINGS: Record<string, Lowering> = {
  Reshape: reshape,
  Flatten: reshape,
  Squeeze: squeeze('SQUEEZE'),
  Unsqueeze: squeeze('EXPAND_DIMS'),
  Transpose: transpose,
  Concat: concat,
  ReduceMean: reduce('MEAN'),
  ReduceSum: reduce('SUM'),
  Softmax: softmax,
  Pad: pad,
  Slice: slice,
};
