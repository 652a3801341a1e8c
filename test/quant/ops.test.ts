import { describe, expect, it } from 'vitest';
import { Node } from '../../src/ir/node.ts';
import { dataInputs, DEFAULT_OP_TYPES, INT8_NATIVE, quantKind, SUPPORTED_OP_TYPES } from '../../src/quant/ops.ts';

/** The quantizer's op lists as they were hand-kept before the op table carried them. */
const LAYERS = ['Conv', 'MatMul', 'Gemm', 'Add', 'Mul', 'AveragePool', 'GlobalAveragePool', 'Relu', 'Clip', 'Concat'];
const OPT_IN = ['Sigmoid', 'LeakyRelu', 'Softmax'];
const PRESERVING = ['MaxPool', 'GlobalMaxPool', 'Identity', 'Dropout', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Gather', 'Slice', 'Split', 'Expand', 'Tile'];

describe('quantizer view of the op table', () => {
  it('quantize: supported and default op types are the ones the quantizer has always handled', () => {
    expect([...SUPPORTED_OP_TYPES].sort()).toEqual([...LAYERS, ...OPT_IN, ...PRESERVING].sort());
    expect([...DEFAULT_OP_TYPES].sort()).toEqual([...LAYERS, ...PRESERVING].sort());
    expect([...INT8_NATIVE].sort()).toEqual(['Concat', 'Expand', 'Flatten', 'Gather', 'Identity', 'MaxPool', 'Reshape', 'Slice', 'Split', 'Squeeze', 'Tile', 'Transpose', 'Unsqueeze']);
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
});
