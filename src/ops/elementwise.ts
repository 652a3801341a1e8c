/** Element-wise unary and binary ops (numpy broadcasting) and activations. */
import { dtypeFromCode } from '../onnx/dtype.ts';
import { broadcast } from './shape-math.ts';
import type { InferContext, OpCategory, OpSpec } from './types.ts';

const same = ({ inputs }: InferContext) => [inputs[0]];
const binary = ({ inputs }: InferContext) => [{ dtype: inputs[0]?.dtype ?? inputs[1]?.dtype, shape: broadcast(inputs[0]?.shape, inputs[1]?.shape) }];
const compare = (c: InferContext) => [{ dtype: 'bool' as const, shape: binary(c)[0].shape }];

function unary(op: string, category: OpCategory = 'activation', valuePreserving = false): OpSpec {
  return { op, domain: '', category, infer: same, valuePreserving, foldable: true };
}

export const ELEMENTWISE_OPS: OpSpec[] = [
  ...['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mod', 'And', 'Or', 'Xor'].map(
    (op): OpSpec => ({ op, domain: '', category: 'elementwise', infer: binary, foldable: true }),
  ),
  ...['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual'].map(
    (op): OpSpec => ({ op, domain: '', category: 'elementwise', infer: compare, foldable: true }),
  ),
  {
    op: 'Where',
    domain: '',
    category: 'elementwise',
    infer: ({ inputs }) => [{ dtype: inputs[1]?.dtype, shape: broadcast(broadcast(inputs[0]?.shape, inputs[1]?.shape), inputs[2]?.shape) }],
    foldable: true,
  },
  ...['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Erf', 'Gelu', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Softplus', 'PRelu'].map((op) => unary(op)),
  ...['Sqrt', 'Exp', 'Log', 'Neg', 'Abs', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Not', 'Sign'].map((op) => unary(op, 'elementwise')),
  { ...unary('Clip'), infer: same },
  unary('Identity', 'shape', true),
  { op: 'Dropout', domain: '', category: 'shape', infer: ({ inputs }) => [inputs[0], { dtype: 'bool', shape: inputs[0]?.shape }], valuePreserving: true },
  { op: 'Cast', domain: '', category: 'elementwise', infer: castInfer, foldable: true },
];

function castInfer({ node, inputs }: InferContext) {
  const to = node.getInt('to');
  return [{ dtype: to === undefined ? undefined : dtypeFromCode(to), shape: inputs[0]?.shape }];
}
