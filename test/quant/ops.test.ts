import { describe, expect, it } from 'vitest';
import { Node } from '../../src/ir/node.ts';
import { OPS, opSpec } from '../../src/ops/registry.ts';
import { dataInputs, DEFAULT_OP_TYPES, INT8_NATIVE, quantKind, SUPPORTED_OP_TYPES } from '../../src/quant/int8/ops.ts';

/** The quantizer's op lists as they were hand-kept before the op table carried them. */
const LAYERS = ['Conv', 'MatMul', 'Gemm', 'Add', 'Mul', 'AveragePool', 'GlobalAveragePool', 'Relu', 'Clip', 'Concat'];
const OPT_IN = ['Sigmoid', 'LeakyRelu', 'Softmax'];
const PRESERVING = ['MaxPool', 'GlobalMaxPool', 'Identity', 'Dropout', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Gather', 'Slice', 'Split', 'Expand', 'Tile'];
/** Dynamic mode only: int8 weights for ops that run in float or as an integer LSTM (the table's weightOnly). */
const WEIGHT_ONLY = ['ConvTranspose', 'LSTM', 'GRU', 'RNN'];

describe('quantizer view of the op table', () => {
  it('quantize: supported and default op types are the ones the quantizer has always handled', () => {
    expect([...SUPPORTED_OP_TYPES].sort()).toEqual([...LAYERS, ...OPT_IN, ...PRESERVING, ...WEIGHT_ONLY].sort());
    expect([...DEFAULT_OP_TYPES].sort()).toEqual([...LAYERS, ...PRESERVING, ...WEIGHT_ONLY].sort());
    expect([...INT8_NATIVE].sort()).toEqual(['Concat', 'Expand', 'Flatten', 'Gather', 'Identity', 'MaxPool', 'Reshape', 'Slice', 'Split', 'Squeeze', 'Tile', 'Transpose', 'Unsqueeze']);
  });

  it('quantize: every op dynamic int8 runs as an integer op has a weight-only form (the precision ladder\'s next rung)', () => {
    const integer = OPS.filter((s) => s.dynamicInteger);
    expect(integer.map((s) => s.op).sort()).toEqual(['Conv', 'Gemm', 'LSTM', 'MatMul']);
    expect(integer.filter((s) => !s.weightOnly).map((s) => s.op)).toEqual([]);
  });

  it('quantize: kinds come from the table, value-preserving ops default to preserving, other domains to none', () => {
    expect(quantKind({ opType: 'Gemm', domain: 'ai.onnx' })).toBe('weighted');
    expect(quantKind({ opType: 'Concat', domain: '' })).toBe('concat');
    expect(quantKind({ opType: 'Dropout', domain: '' })).toBe('preserving');
    expect(quantKind({ opType: 'Mish', domain: '' })).toBeUndefined();
    expect(quantKind({ opType: 'Relu', domain: 'com.microsoft' })).toBeUndefined();
    expect(dataInputs(new Node('Concat', ['a', 'b', 'c'], ['y']))).toEqual([0, 1, 2]);
    expect(dataInputs(new Node('Gather', ['x', 'i'], ['y']))).toEqual([0]);
  });

  it('quantize: every op the QOperator format writes a kernel for names one in the table', () => {
    const needKernel = OPS.filter((s) => s.domain === '' && s.quant && !['preserving', 'activation'].includes(s.quant));
    expect(needKernel.filter((s) => !s.qoperator).map((s) => s.op)).toEqual([]);
    expect(needKernel.map((s) => `${s.op}→${s.qoperator!.domain}:${s.qoperator!.op}`).sort()).toEqual([
      'Add→com.microsoft:QLinearAdd',
      'AveragePool→com.microsoft:QLinearAveragePool',
      'Concat→com.microsoft:QLinearConcat',
      'Conv→:QLinearConv',
      'Gemm→com.microsoft:QGemm',
      'GlobalAveragePool→com.microsoft:QLinearGlobalAveragePool',
      'LeakyRelu→com.microsoft:QLinearLeakyRelu',
      'MatMul→:QLinearMatMul',
      'Mul→com.microsoft:QLinearMul',
      'Sigmoid→com.microsoft:QLinearSigmoid',
      'Softmax→com.microsoft:QLinearSoftmax',
    ]);
    // Each kernel is itself in the table (as an integer op that marks a quantized model).
    for (const s of needKernel) expect(opSpec({ opType: s.qoperator!.op, domain: s.qoperator!.domain })?.quantized, s.op).toBe(true);
  });
});
