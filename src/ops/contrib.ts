/**
 * onnxruntime's com.microsoft integer kernels: the ones the QOperator and int4 emitters
 * write, and the others that show a model is quantized already. None is inferred: their
 * outputs keep the types the emitter or the model declares.
 */
import type { OpCategory, OpSpec } from './types.ts';

const MS_DOMAIN = 'com.microsoft';

/** A com.microsoft kernel, as the `qoperator` column names it. */
export const msKernel = (op: string) => ({ op, domain: MS_DOMAIN });

const integerKernel = (op: string, category: OpCategory): OpSpec => ({ op, domain: MS_DOMAIN, category, quantized: true });

export const CONTRIB_OPS: OpSpec[] = [
  integerKernel('QLinearConv', 'conv'),
  ...['QGemm', 'MatMulIntegerToFloat', 'MatMulInteger16', 'MatMulNBits', 'MatMulNBitsMlp', 'MatMulNBitsQkv', 'DynamicQuantizeMatMul', 'QAttention', 'DynamicQuantizeLSTM'].map((op) =>
    integerKernel(op, 'matmul'),
  ),
  ...['QLinearAdd', 'QLinearMul', 'QLinearWhere'].map((op) => integerKernel(op, 'elementwise')),
  ...['QLinearSigmoid', 'QLinearLeakyRelu', 'QLinearSoftmax'].map((op) => integerKernel(op, 'activation')),
  ...['QLinearAveragePool', 'QLinearGlobalAveragePool'].map((op) => integerKernel(op, 'pool')),
  integerKernel('QLinearConcat', 'shape'),
  integerKernel('QLinearReduceMean', 'reduce'),
];
