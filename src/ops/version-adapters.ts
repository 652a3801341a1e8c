/**
 * Version adapters: how a default-domain node is rewritten when the model's opset steps into
 * a version where its op changed spelling or meaning (as onnx's version_converter adapters,
 * https://github.com/onnx/onnx/tree/main/onnx/version_converter/adapters). Keyed by op and
 * by the version stepped into; steps onnx marks compatible need none (./versions.ts). An
 * adapter refuses (`c.refuse`) what it cannot express at the new version; it never guesses.
 */
import type { Graph } from '../ir/graph.ts';
import { Node } from '../ir/node.ts';
import { legacyBroadcast, preluSlope } from './broadcast-adapters.ts';
import { Tensor } from '../ir/tensor.ts';
import type { TensorType } from '../ir/value.ts';
import type { DType, TypedArray } from '../onnx/dtype.ts';
import type { Int64 } from '../onnx/wire.ts';
import { toHalf } from '../math/float16.ts';
import { OPS } from './registry.ts';

export interface AdaptContext {
  readonly graph: Graph;
  /** A value's type where inference or the model tells it. */
  type(value: string): TensorType | undefined;
  /** A value's constant (initializer or Constant output), if it is one. */
  constant(value: string): Tensor | undefined;
  /** Whether anything reads a value (a node, a subgraph or the graph's outputs). */
  isRead(value: string): boolean;
  /** A name no other value or node uses. */
  fresh(base: string): string;
  /** Adds a constant to the node's graph and returns its name. */
  constantInput(node: Node, what: string, tensor: (name: string) => Tensor): string;
  /** The one-line refusal for this node and step, to throw. */
  refuse(why: string): Error;
}

export interface VersionAdapter {
  /** What it does, for the report ("axes → input"). */
  readonly what: string;
  /** Rewrites the node: true if it changed in place, false if nothing applied, or the nodes that replace it (in order). */
  readonly adapt: (node: Node, c: AdaptContext) => boolean | Node[];
}

const int64s = (values: readonly Int64[], dims = [values.length]) => (name: string) => Tensor.fromTyped(name, BigInt64Array.from(values, (v) => BigInt(v)), dims);

/** A scalar of the element type of `value` (a Clip bound or Pad value must match its data). */
function scalarLike(c: AdaptContext, value: string, x: number): (name: string) => Tensor {
  const dtype: DType = c.type(value)?.dtype ?? 'float32';
  return (name) => {
    if (dtype === 'float16') {
      const t = Tensor.fromTyped(name, Float32Array.of(0), []);
      t.setRaw('float16', [], new Uint8Array(toHalf([x]).buffer));
      return t;
    }
    const data: TypedArray | undefined = dtype === 'float32' ? Float32Array.of(x) : dtype === 'float64' ? Float64Array.of(x) : undefined;
    if (!data) throw c.refuse(`its data is ${dtype}, which the new version's constant input cannot be written for`);
    return Tensor.fromTyped(name, data, []);
  };
}

/** The raw ints of an attribute (INT64 extremes kept exact), or undefined when absent. */
function rawInts(node: Node, name: string): Int64[] | undefined {
  return node.attr(name)?.value as Int64[] | undefined;
}

/** Moves an ints attribute to input position `at` (earlier missing inputs become ''). */
function intsToInput(attr: string, at: number): VersionAdapter['adapt'] {
  return (node, c) => {
    const values = rawInts(node, attr);
    if (!values) return false;
    node.removeAttr(attr);
    setInput(node, at, c.constantInput(node, attr, int64s(values)));
    return true;
  };
}

function setInput(node: Node, at: number, name: string): void {
  while (node.inputs.length < at) node.inputs.push('');
  node.inputs[at] = name;
}

const adapter = (what: string, adapt: VersionAdapter['adapt']): VersionAdapter => ({ what, adapt });

/**
 * Before opset 13, Softmax, LogSoftmax and Hardmax coerce the input to 2-D at `axis` (default
 * 1) and normalize each row; from 13 they normalize along `axis` alone (default −1). The same
 * where `axis` is the last axis; elsewhere the old meaning is written out as
 * Flatten → op(axis −1) → Reshape back to the input's shape.
 */
const coercedTo2d: VersionAdapter = {
  what: 'axis made a single axis',
  adapt(node, c) {
    const axis = node.getInt('axis', 1);
    const rank = c.type(node.inputs[0]!)?.shape?.length;
    if (axis === -1 || (rank !== undefined && axis === rank - 1)) {
      node.setAttr('axis', -1);
      return true;
    }
    const [x, y] = [node.inputs[0]!, node.outputs[0]!];
    const base = node.name || y;
    const [shape, flat, rows] = [c.fresh(`${x}_shape`), c.fresh(`${x}_2d`), c.fresh(`${y}_2d`)];
    node.inputs[0] = flat;
    node.outputs[0] = rows;
    node.setAttr('axis', -1);
    return [
      new Node('Shape', [x], [shape], c.fresh(`${base}_shape`)),
      attrNode(new Node('Flatten', [x], [flat], c.fresh(`${base}_flatten`)), 'axis', axis),
      node,
      new Node('Reshape', [rows, shape], [y], c.fresh(`${base}_reshape`)),
    ];
  },
};

function attrNode(node: Node, name: string, value: number): Node {
  node.setAttr(name, value);
  return node;
}

/** Resize nodes that were Upsample nodes (whose scales are ≥ 1 by definition). */
const fromUpsample = new WeakSet<Node>();

/** Resize-10 (and Upsample) sample asymmetrically; onnxruntime rounds a nearest pixel down when upsampling, up when downsampling. */
const resizeInputs: VersionAdapter = {
  what: 'roi input and asymmetric coordinates',
  adapt(node, c) {
    const [x, scales] = node.inputs;
    node.inputs = [x!, c.constantInput(node, 'roi', (name) => Tensor.fromTyped(name, new Float32Array(0), [0])), scales!];
    node.setAttr('coordinate_transformation_mode', 'asymmetric');
    // Upsample only enlarges (scales ≥ 1): its nearest pixel is always rounded down.
    if (node.getString('mode', 'nearest') === 'nearest' && fromUpsample.has(node)) node.setAttr('nearest_mode', 'floor');
    else if (node.getString('mode', 'nearest') === 'nearest') {
      const s = c.constant(scales!)?.toFloat32();
      if (!s) throw c.refuse('nearest-pixel rounding depends on the scales, which are not constant');
      const down = s.some((v) => v < 1);
      if (down && s.some((v) => v > 1)) throw c.refuse('it upsamples some axes and downsamples others (no single nearest mode matches)');
      node.setAttr('nearest_mode', down ? 'ceil' : 'floor');
    }
    return true;
  },
};

/** A trailing output the new version no longer has may go only when nothing reads it. */
function dropOutputsFrom(first: number, why: string): VersionAdapter['adapt'] {
  return (node, c) => {
    const extra = node.outputs.slice(first).filter(Boolean);
    if (extra.length === 0) return false;
    const read = extra.find((o) => c.isRead(o));
    if (read) throw c.refuse(`its output '${read}' ${why}`);
    node.outputs = node.outputs.slice(0, first);
    return true;
  };
}

/** Nothing to rewrite: the new attribute's default is the old behaviour. */
const defaultKeepsMeaning = (what: string): VersionAdapter => ({ what, adapt: () => false });

/** Removes an attribute whose every value the new version's behaviour matches. */
const dropAttr = (name: string, what = `${name} removed`): VersionAdapter =>
  adapter(what, (node) => {
    if (node.attr(name) === undefined) return false;
    node.removeAttr(name);
    return true;
  });

/** An attribute renamed, its value unchanged. */
function dropAttrRename(from: string, to: string): VersionAdapter {
  return adapter(`${from} → ${to}`, (node) => {
    const a = node.attr(from);
    if (!a) return false;
    a.name = to;
    return true;
  });
}

/** RNN/GRU/LSTM-1 wrote Y only with output_sequence=1; from 7 Y is always the sequence (optional). */
function rnnOutputSequence(node: Node, c: AdaptContext): boolean {
  if (node.attr('output_sequence') === undefined) return false;
  if (node.getInt('output_sequence', 0) === 0 && node.outputs[0] && c.isRead(node.outputs[0])) throw c.refuse('output_sequence=0 with its first output read: that output means the last step before opset 7');
  node.removeAttr('output_sequence');
  return true;
}

/** Cast-1 names its target type ('FLOAT'); from 6 it is the TensorProto.DataType number. */
const CAST_CODES: Record<string, number> = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13 };

const ADAPTERS: Record<string, Record<number, VersionAdapter>> = {
  Concat: {
    4: adapter('axis made explicit (1)', (node) => {
      if (node.attr('axis') !== undefined) return false;
      node.setAttr('axis', 1);
      return true;
    }),
  },
  Reshape: { 5: adapter('shape → input', intsToInput('shape', 1)) },
  Cast: {
    6: adapter('to → type number', (node, c) => {
      const to = node.attr('to')?.value;
      if (typeof to !== 'string') return false;
      const code = CAST_CODES[to.toUpperCase()];
      if (code === undefined) throw c.refuse(`its target type '${to}' is not a known type name`);
      node.setAttr('to', code);
      return true;
    }),
  },
  Gemm: { 7: dropAttr('broadcast', 'broadcast removed (C broadcasts)') },
  ...Object.fromEntries(['GRU', 'LSTM', 'RNN'].map((op) => [op, { 7: adapter('output_sequence removed', rnnOutputSequence) }])),
  BatchNormalization: {
    9: adapter('spatial removed', (node, c) => {
      if (node.attr('spatial') === undefined) return false;
      if (node.getInt('spatial', 1) !== 1) throw c.refuse('spatial=0 (statistics per activation) has no spelling from opset 9 on');
      node.removeAttr('spatial');
      return true;
    }),
    14: adapter('training outputs removed', dropOutputsFrom(1, 'is read, and opset 14 has it only in training mode')),
  },
  Dropout: {
    10: adapter('float mask removed', dropOutputsFrom(1, 'is read, and its type changes from the data type to bool in opset 10')),
    12: adapter('ratio → input', (node, c) => {
      if (node.attr('ratio') === undefined) return false;
      const ratio = node.getFloat('ratio', 0.5);
      node.removeAttr('ratio');
      setInput(node, 1, c.constantInput(node, 'ratio', (name) => Tensor.fromTyped(name, Float32Array.of(ratio), [])));
      return true;
    }),
  },
  Upsample: {
    7: adapter('height/width scales → scales', (node, c) => {
      const [h, w] = [node.attr('height_scale'), node.attr('width_scale')];
      if (!h || !w) throw c.refuse('it has no height_scale or width_scale');
      node.removeAttr('height_scale');
      node.removeAttr('width_scale');
      node.attributes.push({ name: 'scales', type: 'floats', value: [1, 1, Number(h.value), Number(w.value)], proto: {} });
      if (node.getString('mode') === 'bilinear') node.setAttr('mode', 'linear');
      return true;
    }),
    9: adapter('scales → input', (node, c) => {
      const scales = node.attr('scales')?.value as number[] | undefined;
      if (!scales) return false;
      node.removeAttr('scales');
      setInput(node, 1, c.constantInput(node, 'scales', (name) => Tensor.fromTyped(name, Float32Array.from(scales), [scales.length])));
      return true;
    }),
    // Deprecated in 10: Resize-10 takes the same inputs with the same meaning.
    10: adapter('→ Resize', (node) => {
      node.opType = 'Resize';
      fromUpsample.add(node);
      node.attributes = node.attributes.filter((a) => a.name === 'mode');
      return true;
    }),
  },
  Resize: {
    11: resizeInputs,
    13: adapter('tf_half_pixel_for_nn refused', (node, c) => {
      if (node.getString('coordinate_transformation_mode') === 'tf_half_pixel_for_nn') throw c.refuse('coordinate_transformation_mode tf_half_pixel_for_nn was removed in opset 13');
      return false;
    }),
  },
  Slice: {
    10: adapter('starts/ends/axes → inputs', (node, c) => {
      const [starts, ends, axes] = ['starts', 'ends', 'axes'].map((a) => rawInts(node, a));
      if (!starts || !ends) throw c.refuse('it has no starts or ends');
      for (const a of ['starts', 'ends', 'axes']) node.removeAttr(a);
      node.inputs = [node.inputs[0]!, c.constantInput(node, 'starts', int64s(starts)), c.constantInput(node, 'ends', int64s(ends))];
      if (axes) node.inputs.push(c.constantInput(node, 'axes', int64s(axes)));
      return true;
    }),
  },
  TopK: {
    10: adapter('k → input', (node, c) => {
      const k = node.attr('k')?.value as Int64 | undefined;
      if (k === undefined) throw c.refuse('it has no k');
      node.removeAttr('k');
      setInput(node, 1, c.constantInput(node, 'k', int64s([k])));
      return true;
    }),
  },
  Clip: {
    11: adapter('min/max → inputs', (node, c) => {
      const [min, max] = [node.attr('min'), node.attr('max')];
      if (!min && !max) return false;
      node.removeAttr('min');
      node.removeAttr('max');
      const x = node.inputs[0]!;
      node.inputs = [x, min ? c.constantInput(node, 'min', scalarLike(c, x, Number(min.value))) : ''];
      if (max) node.inputs.push(c.constantInput(node, 'max', scalarLike(c, x, Number(max.value))));
      return true;
    }),
  },
  Pad: {
    2: dropAttrRename('paddings', 'pads'),
    11: adapter('pads/value → inputs', (node, c) => {
      const pads = rawInts(node, 'pads');
      if (!pads) throw c.refuse('it has no pads');
      const value = node.getFloat('value', 0);
      node.removeAttr('pads');
      node.removeAttr('value');
      const x = node.inputs[0]!;
      node.inputs = [x, c.constantInput(node, 'pads', int64s(pads))];
      if (value !== 0) node.inputs.push(c.constantInput(node, 'value', scalarLike(c, x, value)));
      return true;
    }),
  },
  Scatter: {
    // Deprecated in 11: ScatterElements-11 is the same op under a new name.
    11: adapter('→ ScatterElements', (node) => {
      node.opType = 'ScatterElements';
      return true;
    }),
  },
  Split: {
    13: adapter('split → input', intsToInput('split', 1)),
    // From 18 an equal split names its output count (a split input still says it all).
    18: adapter('num_outputs', (node) => {
      if (node.inputs[1] || node.attr('num_outputs') !== undefined) return false;
      node.setAttr('num_outputs', node.outputs.length);
      return true;
    }),
  },
  Softmax: { 13: coercedTo2d },
  LogSoftmax: { 13: coercedTo2d },
  // onnx's converter marks Hardmax 12 → 13 compatible, but Hardmax changed exactly as Softmax did.
  Hardmax: { 13: coercedTo2d },
  GRU: { 14: defaultKeepsMeaning('layout 0 (default)') },
  LSTM: { 14: defaultKeepsMeaning('layout 0 (default)') },
  RNN: { 14: defaultKeepsMeaning('layout 0 (default)') },
  LpPool: { 18: defaultKeepsMeaning('ceil_mode 0 (default)') },
  RoiAlign: {
    // The default coordinate mode changed to half_pixel in 16; the old one is made explicit.
    16: adapter('coordinate mode made explicit', (node) => {
      if (node.attr('coordinate_transformation_mode') !== undefined) return false;
      node.setAttr('coordinate_transformation_mode', 'output_half_pixel');
      return true;
    }),
  },
  GridSample: {
    20: adapter('mode renamed', (node) => {
      const renamed = { bilinear: 'linear', bicubic: 'cubic' }[node.getString('mode')];
      if (!renamed) return false;
      node.setAttr('mode', renamed);
      return true;
    }),
  },
  DFT: {
    20: adapter('axis → input', (node, c) => {
      const axis = node.getInt('axis', 1);
      node.removeAttr('axis');
      setInput(node, 2, c.constantInput(node, 'axis', int64s([axis], [])));
      return true;
    }),
  },
  GroupNormalization: {
    21: adapter('refused', (_node, c) => {
      throw c.refuse('its scale and bias are per group before opset 21 and per channel from 21');
    }),
  },
};

// consumed_inputs (an optimization hint of opset 1) was removed from these ops in opset 6.
for (const op of 'Abs Add BatchNormalization Ceil Clip Div Dropout Elu Exp Floor HardSigmoid InstanceNormalization LeakyRelu Log Max Mean Min Mul Neg PRelu Reciprocal Relu Selu Sigmoid Sqrt Sub Sum Tanh'.split(' ')) {
  (ADAPTERS[op] ??= {})[6] = dropAttr('consumed_inputs');
}
for (const op of 'Add Sub Mul Div Pow And Or Xor Equal Greater Less'.split(' ')) (ADAPTERS[op] ??= {})[7] = legacyBroadcast;
ADAPTERS.PRelu![7] = preluSlope;
// is_test (inference when set) was removed in 7: these ops now always run as in inference.
ADAPTERS.BatchNormalization![7] = dropAttr('is_test');
ADAPTERS.Dropout![7] = dropAttr('is_test');

// Ops whose `axes` moved from an attribute to an input (the op table's axesInputSince column).
for (const spec of OPS) {
  if (spec.domain !== '' || spec.axesInputSince === undefined) continue;
  (ADAPTERS[spec.op] ??= {})[spec.axesInputSince] = adapter('axes → input', intsToInput('axes', 1));
}

export const VERSION_ADAPTERS: Readonly<Record<string, Readonly<Record<number, VersionAdapter>>>> = ADAPTERS;
