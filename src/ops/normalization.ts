/** Normalizations and softmax: outputs shaped like the input. */
import { msKernel } from './contrib.ts';
import type { InferContext, OpSpec } from './types.ts';

const same = ({ inputs }: InferContext) => [inputs[0]];

export const NORMALIZATION_OPS: OpSpec[] = [
  {
    op: 'BatchNormalization',
    domain: '',
    category: 'normalization',
    infer: same,
    weightInputs: [1, 2, 3, 4],
    foldable: true,
    channels: 'per-channel-params',
  },
  {
    op: 'LayerNormalization',
    domain: '',
    category: 'normalization',
    infer: ({ inputs }) => [inputs[0], undefined, undefined],
    weightInputs: [1, 2],
    foldable: true,
    channels: 'normalize-from-axis',
  },
  { op: 'InstanceNormalization', domain: '', category: 'normalization', infer: same, weightInputs: [1, 2], foldable: true, channels: 'per-channel-params' },
  // Statistics over groups of channels: pruning one channel changes its group's.
  { op: 'GroupNormalization', domain: '', category: 'normalization', infer: same, weightInputs: [1, 2], foldable: true },
  { op: 'Softmax', domain: '', category: 'activation', infer: same, foldable: true, quant: 'unary', quantOptIn: true, qoperator: msKernel('QLinearSoftmax'), channels: 'softmax' },
  { op: 'LogSoftmax', domain: '', category: 'activation', infer: same, foldable: true, channels: 'softmax' },
  { op: 'Hardmax', domain: '', category: 'activation', infer: same, foldable: true, channels: 'softmax' },
  { op: 'LRN', domain: '', category: 'normalization' },
];
