/** Normalizations and softmax: outputs shaped like the input. */
import type { InferContext, OpSpec } from './types.ts';

const same = ({ inputs }: InferContext) => [inputs[0]];

export const NORMALIZATION_OPS: OpSpec[] = [
  { op: 'BatchNormalization', domain: '', category: 'normalization', infer: same, weightInputs: [1, 2, 3, 4], foldable: true },
  {
    op: 'LayerNormalization',
    domain: '',
    category: 'normalization',
    infer: ({ inputs }) => [inputs[0], undefined, undefined],
    weightInputs: [1, 2],
    foldable: true,
  },
  { op: 'InstanceNormalization', domain: '', category: 'normalization', infer: same, weightInputs: [1, 2], foldable: true },
  { op: 'Softmax', domain: '', category: 'activation', infer: same, foldable: true },
  { op: 'LogSoftmax', domain: '', category: 'activation', infer: same, foldable: true },
];
