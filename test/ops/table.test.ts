import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { inferShapes } from '../../src/ops/infer.ts';
import { mergeColumn, OPS, opSpec } from '../../src/ops/registry.ts';
import type { OpSpec } from '../../src/ops/types.ts';
import { randomFloats, runModel } from '../helpers/run-model.ts';

describe('op table', () => {
  it('op table: a column kept in its own file is merged by default-domain op type', () => {
    const base: OpSpec[] = [
      { op: 'Relu', domain: '', category: 'activation' },
      { op: 'QuantizeLinear', domain: 'com.microsoft', category: 'quantization' },
    ];
    const relu = { builtins: ['RELU'], layout: 'any', int8: true } as const;
    const merged = mergeColumn(base, 'tflite', { Relu: relu });
    expect(merged[0]!.tflite).toEqual(relu);
    expect(merged[1]!.tflite).toBeUndefined();
    expect(mergeColumn(base, 'tflite', { Relu: null })[0]!.tflite).toBeNull();
    expect(() => mergeColumn(base, 'trainable', { Einsum: { trainable: 'exact' } })).toThrow(/missing from the table: Einsum/);
    // The real table carries both columns.
    expect(opSpec({ opType: 'Conv', domain: '' })?.trainable).toEqual({ trainable: 'exact', params: [1, 2] });
    expect(opSpec({ opType: 'Conv', domain: 'ai.onnx' })?.tflite).toMatchObject({ builtins: ['CONV_2D', 'DEPTHWISE_CONV_2D'], layout: 'nhwc' });
  });

  it('op table: the inputs column carries the ONNX specs\' input facts (arity, types, shape and index inputs)', () => {
    const inputs = (opType: string, domain = '') => opSpec({ opType, domain })?.inputs;
    expect(inputs('Slice')).toEqual({ required: 3, structural: [1, 2, 3, 4] });
    expect(inputs('Gather', 'ai.onnx')).toMatchObject({ required: 2, min: 2, index: { slot: 1, table: 0, axisAttr: 'axis' } });
    expect(inputs('Add')).toEqual({ required: 2, min: 2, max: 2, numeric: true, sameType: 'all' });
    expect(inputs('Reshape')).toMatchObject({ int64: [1], structural: [1] });
    expect(inputs('Gather', 'com.microsoft')).toBeUndefined();
    expect(() => mergeColumn(OPS, 'inputs', { NotAnOp: { required: 1 } })).toThrow('the inputs column names op(s) missing from the table: NotAnOp');
  });

  it('op table: one entry per op and domain', () => {
    const keys = OPS.map((s) => `${s.domain}:${s.op}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it('op table: axes became an input in opset 13 for ReduceSum, Squeeze and Unsqueeze, in 18 for the other reductions', () => {
    const since = (opType: string) => opSpec({ opType, domain: '' })?.axesInputSince;
    expect(['ReduceSum', 'Squeeze', 'Unsqueeze'].map(since)).toEqual([13, 13, 13]);
    expect(['ReduceMean', 'ReduceMax', 'ReduceL1', 'ReduceLogSumExp', 'ReduceSumSquare'].map(since)).toEqual([18, 18, 18, 18, 18]);
    expect(since('Relu')).toBeUndefined();
  });

  it('op table: layouts of the prunable layers follow their attributes', () => {
    const node = (opType: string, transB = 0) => ({ opType, domain: '', getInt: (name: string, fallback = 0) => (name === 'transB' ? transB : fallback) });
    const layout = (opType: string, rank: number, transB = 0) => {
      const n = node(opType, transB) as unknown as Parameters<NonNullable<OpSpec['layer']>['weight']>[0];
      return opSpec(n)!.layer!.weight(n, rank);
    };
    expect(layout('Conv', 4)).toEqual({ outAxis: 0, inAxis: 1 });
    expect(layout('Conv', 2)).toBeUndefined();
    expect(layout('Gemm', 2)).toEqual({ outAxis: 1, inAxis: 0 });
    expect(layout('Gemm', 2, 1)).toEqual({ outAxis: 0, inAxis: 1 });
    expect(layout('MatMul', 3)).toBeUndefined();
  });

  it('infer: shapes of the ops added for the consumers match what onnxruntime produces', async () => {
    const b = new GraphBuilder('added', { opsets: { '': 18 } });
    const x = b.input('x', 'float32', [2, 3, 6, 6]);
    const [ct] = b.node('ConvTranspose', [x, b.initializer('w', randomFloats(3 * 2 * 3 * 3), [3, 2, 3, 3])], { strides: [2, 2], pads: [1, 0, 1, 0], output_padding: [1, 0], group: 3 });
    const [lp] = b.node('LpPool', [x], { kernel_shape: [3, 3], strides: [2, 2] });
    const [glp] = b.node('GlobalLpPool', [x]);
    const [rz] = b.node('Resize', [x, '', b.initializer('scales', Float32Array.of(1, 1, 1.5, 2), [4])], { mode: 'nearest' });
    const [sum] = b.node('Sum', [x, b.initializer('row', randomFloats(6), [6]), b.initializer('col', randomFloats(6), [6, 1])]);
    const [mean] = b.node('Mean', [x, 'row']);
    const [mish] = b.node('Mish', [x]);
    const [size] = b.node('Size', [x]);
    const [pad] = b.node('Pad', [x, b.initializer('pads', BigInt64Array.of(0n, 0n, 1n, 2n, 0n, 0n, 2n, 1n), [8])]);
    const outs = [ct, lp, glp, rz, sum, mean, mish, pad];
    for (const o of outs) b.output(o, 'float32', []);
    const model = b.build();
    for (const o of model.graph.outputs) o.type = { dtype: 'float32', shape: undefined };
    const types = inferShapes(model);
    expect(types.get(ct)!.shape).toEqual([2, 6, 12, 13]);
    expect(types.get(size)).toEqual({ dtype: 'int64', shape: [] });
    expect(types.get(pad)).toEqual({ dtype: 'float32', shape: [2, 3, 9, 9] });
    const ran = await runModel(model, { x: { data: randomFloats(2 * 3 * 6 * 6), dims: [2, 3, 6, 6] } });
    for (const o of outs) {
      const shape = types.get(o)!.shape as number[];
      expect(shape.every((d) => typeof d === 'number'), o).toBe(true);
      expect(ran[o].length, o).toBe(shape.reduce((a, d) => a * d, 1));
    }
  });
});
