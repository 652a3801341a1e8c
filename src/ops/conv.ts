/** Convolution and pooling: sliding windows over NCHW spatial axes. */
import type { Node } from '../ir/node.ts';
import type { Dim, TensorType } from '../ir/value.ts';
import { samePads, windowOutput } from './shape-math.ts';
import type { InferContext, OpSpec } from './types.ts';

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

export const CONV_OPS: OpSpec[] = [
  { op: 'Conv', domain: '', category: 'conv', infer: inferConv, weightInputs: [1, 2], foldable: true },
  { op: 'ConvInteger', domain: '', category: 'conv', infer: (c) => [{ dtype: 'int32', shape: inferConv(c)[0]?.shape }] },
  { op: 'QLinearConv', domain: '', category: 'conv' },
  { op: 'MaxPool', domain: '', category: 'pool', infer: inferPool, valuePreserving: true, foldable: true },
  { op: 'AveragePool', domain: '', category: 'pool', infer: (c) => inferPool(c).slice(0, 1), foldable: true },
  { op: 'GlobalAveragePool', domain: '', category: 'pool', infer: inferGlobalPool, foldable: true },
  { op: 'GlobalMaxPool', domain: '', category: 'pool', infer: inferGlobalPool, valuePreserving: true, foldable: true },
];
