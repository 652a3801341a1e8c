/** Elementwise ops: binary arithmetic with broadcasting, activations, BatchNorm and LayerNorm lowered onto them. */
import type { Node } from '../../ir/node.ts';
import type { Mode } from '../emitter.ts';
import { NHWC, PLAIN, padRank, transposeData, TO_NHWC, type Layout } from '../layout.ts';
import type { TflOpName, TflOptions } from '../model.ts';
import { problem, needConstants, type LowerContext, type Lowering, type Problem } from './types.ts';

const noFused = (name: TflOptions['name']): TflOptions => ({ name, fields: [{ slot: 0, kind: 'int8', value: 0 }] });

/** The layout a multi-input elementwise node works in: NHWC when a rank-4 activation input already is. */
export function commonLayout(ctx: LowerContext, inputs: readonly string[]): Layout {
  const { e } = ctx;
  const outRank = e.shapeOf(ctx.node.outputs[0]!).length;
  if (outRank !== 4) return PLAIN;
  const acts = inputs.filter((n) => n && !e.isConstant(n));
  if (acts.some((n) => e.layoutOf(n).kind === 'nhwc') && acts.every((n) => e.shapeOf(n).length === 4)) return NHWC;
  return PLAIN;
}

/** Input `name` as a tensor in `layout` (constants broadcast to the output rank and permuted). */
export function operand(ctx: LowerContext, name: string, mode: Mode, layout: Layout): number {
  const { e } = ctx;
  if (!e.isConstant(name)) return layout.kind === 'nhwc' ? e.readAs(name, mode, 'nhwc') : e.layoutOf(name).kind === 'plain' ? e.read(name, mode) : e.readAs(name, mode, 'plain');
  const c = e.constants.get(name)!;
  if (layout.kind !== 'nhwc') return e.constant(name, c, mode, PLAIN);
  const dims = padRank(c.dims, 4);
  const data = transposeData(c.data, dims, TO_NHWC);
  return e.constant(name, c, mode, PLAIN, data, TO_NHWC.map((a) => dims[a]!));
}

function binary(op: 'ADD' | 'SUB' | 'MUL' | 'DIV'): Lowering {
  const options = { ADD: 'AddOptions', SUB: 'SubOptions', MUL: 'MulOptions', DIV: 'DivOptions' } as const;
  return {
    lower(ctx) {
      const { e, node, mode } = ctx;
      const layout = commonLayout(ctx, node.inputs);
      const a = operand(ctx, node.inputs[0]!, mode, layout);
      const b = operand(ctx, node.inputs[1]!, mode, layout);
      const out = e.define(node.outputs[0]!, mode, layout);
      const qa = e.tensors[a]!.quantization?.scale[0];
      const qb = e.tensors[b]!.quantization?.scale[0];
      const qo = e.tensors[out]!.quantization?.scale[0];
      const opts = { name: options[op], fields: [{ slot: 0, kind: 'int8' as const, value: node.getInt('tflite_activation', 0) }] };
      e.emit(op, [a, b], [out], opts, mode === 'int8' && qa && qb && qo ? { mulRescale: (qa * qb) / qo } : {});
    },
  };
}

/** One input, one output, same layout. */
function unary(op: TflOpName, options?: (node: Node) => TflOptions): Lowering {
  return {
    lower(ctx) {
      const { e, node, mode } = ctx;
      const x = e.read(node.inputs[0]!, mode);
      const out = e.define(node.outputs[0]!, mode, e.layoutOf(node.inputs[0]!));
      e.emit(op, [x], [out], options?.(node));
    },
  };
}

/** Clip's [min, max] (attributes before opset 11, constant inputs after); undefined if not constant. */
function clipBounds(node: Node, constantInput: (i: number) => { data: Float32Array } | undefined): [number, number] | undefined {
  if (node.attr('min') || node.attr('max')) return [node.getFloat('min', -Infinity), node.getFloat('max', Infinity)];
  const get = (i: number) => {
    if (!node.inputs[i]) return i === 1 ? -Infinity : Infinity;
    return constantInput(i)?.data[0];
  };
  const lo = get(1);
  const hi = get(2);
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

const CLIP_OPS: [number, number, TflOpName][] = [
  [0, 6, 'RELU6'],
  [0, Infinity, 'RELU'],
  [-1, 1, 'RELU_N1_TO_1'],
];

const clip: Lowering = {
  check(node, ctx) {
    const b = clipBounds(node, (i) => ctx.constant(node.inputs[i]!));
    if (!b) return [problem('non-constant-weight', 'Clip bounds must be constants')];
    return CLIP_OPS.some(([lo, hi]) => lo === b[0] && hi === b[1]) ? [] : [problem('unsupported-attribute', `Clip(${b[0]}, ${b[1]}): only (0, 6), (0, ∞) and (−1, 1) map to TFLite activations`)];
  },
  lower(ctx) {
    const b = clipBounds(ctx.node, (i) => ctx.constant(i))!;
    const op = CLIP_OPS.find(([lo, hi]) => lo === b[0] && hi === b[1])![2];
    unary(op).lower(ctx);
  },
};

/** y = x·s + t per channel (axis 1), with s, t folded from the statistics. */
const batchNorm: Lowering = {
  check: (node, ctx) => needConstants(node, ctx, [1, 2, 3, 4], 'BatchNormalization parameters'),
  lower(ctx) {
    const { e, node, mode } = ctx;
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => ctx.constant(i)!.data);
    const eps = node.getFloat('epsilon', 1e-5);
    const n = gamma!.length;
    const s = new Float32Array(n);
    const t = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = gamma![i]! / Math.sqrt(variance![i]! + eps);
      t[i] = beta![i]! - mean![i]! * s[i]!;
    }
    const x = node.inputs[0]!;
    const rank = e.shapeOf(x).length;
    const layout = e.layoutOf(x).kind === 'nhwc' ? NHWC : PLAIN;
    const input = layout.kind === 'nhwc' ? e.readAs(x, mode, 'nhwc') : e.readAs(x, mode, 'plain');
    const dims = layout.kind === 'nhwc' ? [1, 1, 1, n] : [n, ...new Array<number>(Math.max(0, rank - 2)).fill(1)];
    const sT = e.float32Const(`${node.outputs[0]}/scale`, s, dims);
    const tT = e.float32Const(`${node.outputs[0]}/shift`, t, dims);
    const scaled = e.addTensor({ name: `${node.outputs[0]}/scaled`, shape: e.tensors[input]!.shape, type: 'FLOAT32' });
    e.emit('MUL', [input, sT], [scaled], noFused('MulOptions'));
    const out = e.define(node.outputs[0]!, mode, layout);
    e.emit('ADD', [scaled, tT], [out], noFused('AddOptions'));
  },
};

/** LayerNormalization over the last axis: MEAN, SUB, MUL, MEAN, ADD ε, RSQRT, MUL, then γ and β. */
const layerNorm: Lowering = {
  check(node, ctx) {
    const out: Problem[] = needConstants(node, ctx, [1, 2], 'LayerNormalization scale/bias');
    const rank = ctx.shape(node.inputs[0]!)?.length;
    const axis = node.getInt('axis', -1);
    if (rank !== undefined && axis !== -1 && axis !== rank - 1) out.push(problem('unsupported-attribute', `LayerNormalization axis ${axis}: only the last axis is exported`));
    return out;
  },
  lower(ctx) {
    const { e, node } = ctx;
    const x = e.readAs(node.inputs[0]!, 'float', 'plain');
    const shape = e.tensors[x]!.shape;
    const reduced = [...shape.slice(0, -1), 1];
    const name = node.outputs[0]!;
    const t = (suffix: string, s = shape) => e.addTensor({ name: `${name}/${suffix}`, shape: s, type: 'FLOAT32' });
    const axes = e.int32Const('axes', [shape.length - 1]);
    const keep: TflOptions = { name: 'ReducerOptions', fields: [{ slot: 0, kind: 'bool', value: true }] };
    const mean = t('mean', reduced);
    e.emit('MEAN', [x, axes], [mean], keep);
    const centred = t('centred');
    e.emit('SUB', [x, mean], [centred], noFused('SubOptions'));
    const sq = t('squared');
    e.emit('MUL', [centred, centred], [sq], noFused('MulOptions'));
    const variance = t('variance', reduced);
    e.emit('MEAN', [sq, axes], [variance], keep);
    const eps = e.float32Const(`${name}/epsilon`, Float32Array.of(node.getFloat('epsilon', 1e-5)), []);
    const ve = t('variance_eps', reduced);
    e.emit('ADD', [variance, eps], [ve], noFused('AddOptions'));
    const inv = t('rstd', reduced);
    e.emit('RSQRT', [ve], [inv]);
    const normed = t('normalized');
    e.emit('MUL', [centred, inv], [normed], noFused('MulOptions'));
    const gamma = ctx.constant(1)!;
    const g = e.floatWeight(node.inputs[1]!, gamma.data, [gamma.data.length]);
    const scaled = node.inputs[2] ? t('scaled') : e.define(name, 'float', PLAIN);
    e.emit('MUL', [normed, g], [scaled], noFused('MulOptions'));
    if (node.inputs[2]) {
      const beta = ctx.constant(2)!;
      const b = e.floatWeight(node.inputs[2]!, beta.data, [beta.data.length]);
      e.emit('ADD', [scaled, b], [e.define(name, 'float', PLAIN)], noFused('AddOptions'));
    }
  },
};

/** Identity and Dropout (inference): the output is the input. */
const alias: Lowering = {
  lower(ctx) {
    const { e, node, mode } = ctx;
    e.bind(node.outputs[0]!, mode, e.layoutOf(node.inputs[0]!), e.read(node.inputs[0]!, mode));
  },
};

export const ELEMENTWISE_LOWERINGS: Record<string, Lowering> = {
  Add: binary('ADD'),
  Sub: binary('SUB'),
  Mul: binary('MUL'),
  Div: binary('DIV'),
  Relu: unary('RELU'),
  Clip: clip,
  LeakyRelu: unary('LEAKY_RELU', (n) => ({ name: 'LeakyReluOptions', fields: [{ slot: 0, kind: 'float32', value: n.getFloat('alpha', 0.01) }] })),
  Sigmoid: unary('LOGISTIC'),
  Tanh: unary('TANH'),
  HardSwish: unary('HARD_SWISH', () => ({ name: 'HardSwishOptions', fields: [] })),
  Gelu: unary('GELU', (n) => ({ name: 'GeluOptions', fields: [{ slot: 0, kind: 'bool', value: n.getString('approximate', 'none') === 'tanh' }] })),
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  Identity: alias,
  Dropout: alias,
};
