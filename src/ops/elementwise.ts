/** Element-wise unary and binary ops (numpy broadcasting) and activations. */
import { dtypeFromCode } from '../onnx/dtype.ts';
import { msKernel } from './contrib.ts';
import { broadcast } from './shape-math.ts';
import type { InferContext, OpCategory, OpSpec } from './types.ts';

const same = ({ inputs }: InferContext) => [inputs[0]];
const binary = ({ inputs }: InferContext) => [{ dtype: inputs[0]?.dtype ?? inputs[1]?.dtype, shape: broadcast(inputs[0]?.shape, inputs[1]?.shape) }];
const compare = (c: InferContext) => [{ dtype: 'bool' as const, shape: binary(c)[0].shape }];
const predicate = ({ inputs }: InferContext) => [{ dtype: 'bool' as const, shape: inputs[0]?.shape }];
/** Sum and Mean take any number of inputs, all broadcast together. */
const variadic = ({ inputs }: InferContext) => [
  { dtype: inputs[0]?.dtype, shape: inputs.slice(1).reduce((s, t) => broadcast(s, t?.shape), inputs[0]?.shape) },
];

function unary(op: string, category: OpCategory = 'activation', valuePreserving = false): OpSpec {
  return { op, domain: '', category, infer: same, valuePreserving, foldable: true, channels: 'same' };
}

function broadcasting(op: string, infer = binary): OpSpec {
  return { op, domain: '', category: 'elementwise', infer, foldable: true, channels: 'broadcast' };
}

export const ELEMENTWISE_OPS: OpSpec[] = [
  { ...broadcasting('Add'), quant: 'binary', qoperator: msKernel('QLinearAdd') },
  { ...broadcasting('Mul'), quant: 'binary', qoperator: msKernel('QLinearMul') },
  ...['Sub', 'Div', 'Pow', 'Max', 'Min', 'Mod', 'And', 'Or', 'Xor', 'BitShift'].map((op) => broadcasting(op)),
  ...['Sum', 'Mean'].map((op) => broadcasting(op, variadic)),
  ...['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual'].map((op) => broadcasting(op, compare)),
  {
    ...broadcasting('Where'),
    infer: ({ inputs }) => [{ dtype: inputs[1]?.dtype, shape: broadcast(broadcast(inputs[0]?.shape, inputs[1]?.shape), inputs[2]?.shape) }],
  },
  { ...unary('Relu'), quant: 'activation' },
  { ...unary('LeakyRelu'), quant: 'unary', quantOptIn: true, qoperator: msKernel('QLinearLeakyRelu') },
  { ...unary('Sigmoid'), quant: 'unary', quantOptIn: true, qoperator: msKernel('QLinearSigmoid') },
  ...['Tanh', 'Erf', 'Gelu', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Softplus', 'Softsign', 'Mish', 'Celu', 'ThresholdedRelu'].map((op) => unary(op)),
  // The slope is a second input, broadcast like a binary op's.
  { ...unary('PRelu'), channels: 'broadcast' },
  ...['Sqrt', 'Exp', 'Log', 'Neg', 'Abs', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Not', 'Sign'].map((op) => unary(op, 'elementwise')),
  ...['Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh'].map((op) => unary(op, 'elementwise')),
  ...['IsNaN', 'IsInf'].map((op): OpSpec => ({ ...unary(op, 'elementwise'), infer: predicate })),
  { ...unary('Clip'), quant: 'activation' },
  { ...unary('Identity', 'shape', true), int8Native: true },
  {
    op: 'Dropout',
    domain: '',
    category: 'shape',
    infer: ({ inputs }) => [inputs[0], { dtype: 'bool', shape: inputs[0]?.shape }],
    valuePreserving: true,
    channels: 'same',
  },
  { op: 'Cast', domain: '', category: 'elementwise', infer: castInfer, foldable: true, channels: 'same' },
];

function castInfer({ node, inputs }: InferContext) {
  const to = node.getInt('to');
  return [{ dtype: to === undefined ? undefined : dtypeFromCode(to), shape: inputs[0]?.shape }];
}
