/** Convolution and pooling: sliding windows over NCHW spatial axes. */
import type { Node } from '../ir/node.ts';
import type { Dim, TensorType } from '../ir/value.ts';
import { msKernel } from './contrib.ts';
import { samePads, windowOutput } from './shape-math.ts';
import type { InferContext, LayerLayout, OpSpec } from './types.ts';

function spatialOutput(node: Node, x: Dim[], kernel: number[], ceil: boolean): Dim[] {
  const rank = kernel.length;
  const strides = node.getInts('strides') ?? new Array(rank).fill(1);
  const dilations = node.getInts('dilations') ?? new Array(rank).fill(1);
  const autoPad = node.getString('auto_pad', 'NOTSET');
  const pads = node.getInts('pads') ?? new Array(rank * 2).fill(0);
  return kernel.map((k, i) => {
    const size = x[2 + i];
    if (autoPad === 'VALID') return windowOutput(size, k, strides[i], dilations[i], 0, 0, ceil);
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const [b, e] = samePads(size, k, strides[i], dilations[i], autoPad === 'SAME_LOWER');
      return windowOutput(size, k, strides[i], dilations[i], b, e, ceil);
    }
    return windowOutput(size, k, strides[i], dilations[i], pads[i], pads[i + rank], ceil);
  });
}

function inferConv({ node, inputs }: InferContext): (TensorType | undefined)[] {
  const [x, w] = inputs;
  if (!x?.shape || !w?.shape) return [{ dtype: x?.dtype, shape: undefined }];
  const kernel = node.getInts('kernel_shape') ?? (w.shape.slice(2) as number[]);
  if (kernel.some((k) => typeof k !== 'number')) return [{ dtype: x.dtype, shape: undefined }];
  return [{ dtype: x.dtype, shape: [x.shape[0], w.shape[0], ...spatialOutput(node, x.shape, kernel, false)] }];
}

function inferPool({ node, inputs }: InferContext): (TensorType | undefined)[] {
  const x = inputs[0];
  const kernel = node.getInts('kernel_shape');
  if (!x?.shape || !kernel) return [{ dtype: x?.dtype, shape: undefined }];
  const shape = [x.shape[0], x.shape[1], ...spatialOutput(node, x.shape, kernel, node.getInt('ceil_mode', 0) === 1)];
  return [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }];
}

function inferGlobalPool({ inputs }: InferContext): (TensorType | undefined)[] {
  const x = inputs[0];
  return [{ dtype: x?.dtype, shape: x?.shape?.map((d, i) => (i < 2 ? d : 1)) }];
}

/** ConvTranspose: the sliding window run backwards (explicit `output_shape` wins). */
function inferConvTranspose({ node, inputs }: InferContext): (TensorType | undefined)[] {
  const [x, w] = inputs;
  if (!x?.shape || !w?.shape) return [{ dtype: x?.dtype, shape: undefined }];
  const kernel = node.getInts('kernel_shape') ?? (w.shape.slice(2) as number[]);
  const channels = typeof w.shape[1] === 'number' ? w.shape[1] * node.getInt('group', 1) : undefined;
  const given = node.getInts('output_shape');
  if (given) return [{ dtype: x.dtype, shape: [x.shape[0], channels, ...given] }];
  if (kernel.some((k) => typeof k !== 'number')) return [{ dtype: x.dtype, shape: undefined }];
  const rank = kernel.length;
  const strides = node.getInts('strides') ?? new Array(rank).fill(1);
  const dilations = node.getInts('dilations') ?? new Array(rank).fill(1);
  const outputPadding = node.getInts('output_padding') ?? new Array(rank).fill(0);
  const autoPad = node.getString('auto_pad', 'NOTSET');
  const pads = autoPad === 'NOTSET' ? (node.getInts('pads') ?? new Array(rank * 2).fill(0)) : new Array(rank * 2).fill(0);
  const spatial = kernel.map((k, i): Dim => {
    const size = x.shape![2 + i];
    if (typeof size !== 'number') return undefined;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return size * strides[i];
    return strides[i] * (size - 1) + outputPadding[i] + (k - 1) * dilations[i] + 1 - pads[i] - pads[i + rank];
  });
  return [{ dtype: x.dtype, shape: [x.shape[0], channels, ...spatial] }];
}

/** Conv weights are [out, in / group, *kernel]; the channels of an activation are on axis 1. */
const CONV_LAYER: LayerLayout = {
  weight: (_node, rank) => (rank >= 3 ? { outAxis: 0, inAxis: 1 } : undefined),
  inputChannelAxis: () => 1,
  outputChannelAxis: () => 1,
  groups: (node) => node.getInt('group', 1),
};

export const CONV_OPS: OpSpec[] = [
  {
    op: 'Conv',
    domain: '',
    category: 'conv',
    infer: inferConv,
    weightInputs: [1, 2],
    foldable: true,
    quant: 'weighted',
    qoperator: { op: 'QLinearConv', domain: '' },
    ortQuantizesWeight: true,
    layer: CONV_LAYER,
    weightOnly: { inputs: [1], axis: () => 0 },
    dynamicInteger: 'ConvInteger',
  },
  {
    op: 'ConvTranspose',
    domain: '',
    category: 'conv',
    infer: inferConvTranspose,
    weightInputs: [1, 2],
    foldable: true,
    ortQuantizesWeight: true,
    // Weights are [in, out / group, *kernel]: per output channel only when not grouped.
    weightOnly: { inputs: [1], axis: (node) => (node.getInt('group', 1) === 1 ? 1 : undefined) },
  },
  { op: 'ConvInteger', domain: '', category: 'conv', infer: (c) => [{ dtype: 'int32', shape: inferConv(c)[0]?.shape }], quantized: true },
  { op: 'QLinearConv', domain: '', category: 'conv', quantized: true },
  { op: 'MaxPool', domain: '', category: 'pool', infer: inferPool, valuePreserving: true, foldable: true, int8Native: true, qdqPropagated: true, channels: 'pool' },
  { op: 'AveragePool', domain: '', category: 'pool', infer: (c) => inferPool(c).slice(0, 1), foldable: true, quant: 'pool', qoperator: msKernel('QLinearAveragePool'), channels: 'pool' },
  { op: 'LpPool', domain: '', category: 'pool', infer: (c) => inferPool(c).slice(0, 1), foldable: true, channels: 'pool' },
  { op: 'GlobalAveragePool', domain: '', category: 'pool', infer: inferGlobalPool, foldable: true, quant: 'pool', qoperator: msKernel('QLinearGlobalAveragePool'), channels: 'pool' },
  { op: 'GlobalMaxPool', domain: '', category: 'pool', infer: inferGlobalPool, valuePreserving: true, foldable: true, channels: 'pool' },
  { op: 'GlobalLpPool', domain: '', category: 'pool', infer: inferGlobalPool, foldable: true, channels: 'pool' },
];
