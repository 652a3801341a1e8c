import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { float } from '../../src/ir/node.ts';
import { ValueInfo } from '../../src/ir/value.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { opset } from '../../passes/opset.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { memoryDataset } from '../quant/graphs.ts';
import { maxOutputDiff, randomFloats, runModel } from '../helpers/run-model.ts';

const IR_FOR = (v: number) => (v >= 12 ? 7 : v >= 11 ? 6 : v >= 10 ? 5 : v >= 9 ? 4 : 3);

function builder(version: number) {
  return new GraphBuilder(`opset${version}`, { opsets: { '': version }, irVersion: IR_FOR(version) });
}

const feeds = (dims: number[], seed = 3) => ({ x: { data: randomFloats(dims.reduce((a, b) => a * b), seed), dims } });

/** Converts a copy to `target` through the pass; returns the bytes before, the converted model and the pass's note. */
async function convert(model: Model, target: number) {
  const before = modelToBytes(model);
  const copy = await loadModel(before);
  const result = await runPipeline(copy, [{ pass: opset, options: { target } }]);
  return { before, after: copy, changes: result.stages[0]!.changes, notes: result.notes };
}

/** Converts and asserts: opset raised, outputs equal in onnxruntime (within `tol`), and the ops of the result. */
async function expectSameOutputs(model: Model, target: number, dims: number[], tol = 0) {
  const r = await convert(model, target);
  expect(r.after.opset()).toBe(target);
  expect(await maxOutputDiff(r.before, r.after, feeds(dims))).toBeLessThanOrEqual(tol);
  return { ...r, ops: r.after.graph.nodes.map((n) => n.opType) };
}

const opsetError = async (model: Model, target: number) => {
  const err = await convert(model, target).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  return (err as Error).message;
};

describe('opset pass: adapters, outputs equal in onnxruntime', () => {
  it('opset: Slice-1 starts/ends/axes attributes become inputs at 10 (INT64_MAX end kept)', async () => {
    const b = builder(9);
    const x = b.input('x', 'float32', [2, 6, 5]);
    const [s] = b.node('Slice', [x], { starts: [1, -4], axes: [1, 2] }, { name: 'slice' });
    b.graph.nodes[0]!.attributes.push({ name: 'ends', type: 'ints', value: [9223372036854775807n, -1], proto: {} });
    b.output(s, 'float32', [2, 5, 3]);
    const r = await expectSameOutputs(b.build(), 13, [2, 6, 5]);
    expect(r.after.graph.nodes[0]!.inputs).toHaveLength(4);
    expect(r.after.graph.nodes[0]!.attributes).toEqual([]);
  });

  it('opset: TopK-1 k becomes an input at 10', async () => {
    const b = builder(9);
    const x = b.input('x', 'float32', [3, 7]);
    const [v] = b.node('TopK', [x], { k: 3 }, { outputs: 2 });
    b.output(v, 'float32', [3, 3]);
    const r = await expectSameOutputs(b.build(), 11, [3, 7]);
    expect(r.after.graph.nodes[0]!.inputs).toHaveLength(2);
  });

  it('opset: Upsample-7 (scales attribute) becomes Resize with asymmetric nearest sampling', async () => {
    const b = builder(7);
    const x = b.input('x', 'float32', [1, 2, 3, 4]);
    const [u] = b.node('Upsample', [x], { mode: 'nearest' });
    b.graph.nodes[0]!.attributes.push({ name: 'scales', type: 'floats', value: [1, 1, 2, 3], proto: {} });
    b.output(u, 'float32', [1, 2, 6, 12]);
    const r = await expectSameOutputs(b.build(), 13, [1, 2, 3, 4]);
    expect(r.ops).toEqual(['Resize']);
    expect(r.notes.join('\n')).toMatch(/opset 7 → 13: upgraded \(1× Upsample scales → input, 1× Upsample → Resize, 1× Resize roi input and asymmetric coordinates\)/);
  });

  it('opset: Upsample-9 linear and Resize-10 nearest downsampling keep their sampling at 11', async () => {
    const b = builder(9);
    const x = b.input('x', 'float32', [1, 2, 4, 6]);
    const [u] = b.node('Upsample', [x, b.initializer('scales', Float32Array.of(1, 1, 2, 1.5), [4])], { mode: 'linear' });
    b.output(u, 'float32', [1, 2, 8, 9]);
    await expectSameOutputs(b.build(), 11, [1, 2, 4, 6], 1e-6);

    const d = builder(10);
    const y = d.input('x', 'float32', [1, 1, 6, 9]);
    const [r] = d.node('Resize', [y, d.initializer('scales', Float32Array.of(1, 1, 0.5, 0.34), [4])], { mode: 'nearest' });
    d.output(r, 'float32', [1, 1, 3, 3]);
    await expectSameOutputs(d.build(), 13, [1, 1, 6, 9]);
  });

  it('opset: Clip-6 min/max attributes become inputs of the data type at 11 (a bound may be absent)', async () => {
    const b = builder(7);
    const x = b.input('x', 'float32', [4, 5]);
    const [c1] = b.node('Clip', [x], { min: float(-0.25), max: float(0.5) });
    const [c2] = b.node('Clip', [c1], { max: float(0.375) });
    b.output(c2, 'float32', [4, 5]);
    const r = await expectSameOutputs(b.build(), 12, [4, 5]);
    expect(r.after.graph.nodes.map((n) => n.inputs.length)).toEqual([3, 3]);
    expect(r.after.graph.nodes[1]!.inputs[1]).toBe('');
  });

  it('opset: Pad-2 pads and value become inputs at 11 (constant and reflect modes)', async () => {
    const b = builder(9);
    const x = b.input('x', 'float32', [1, 2, 3, 3]);
    const [p1] = b.node('Pad', [x], { pads: [0, 0, 1, 2, 0, 0, 2, 1], value: float(1.5) });
    const [p2] = b.node('Pad', [p1], { pads: [0, 0, 1, 1, 0, 0, 1, 1], mode: 'reflect' });
    b.output(p2, 'float32', [1, 2, 8, 8]);
    await expectSameOutputs(b.build(), 13, [1, 2, 3, 3]);
  });

  it('opset: Dropout-7 loses its unread float mask at 10 and its ratio becomes an input at 12', async () => {
    const b = builder(7);
    const x = b.input('x', 'float32', [3, 4]);
    const [d] = b.node('Dropout', [x], { ratio: float(0.3) }, { outputs: 2 });
    const [r] = b.node('Relu', [d]);
    b.output(r, 'float32', [3, 4]);
    const c = await expectSameOutputs(b.build(), 13, [3, 4]);
    expect(c.after.graph.nodes[0]!.outputs).toHaveLength(1);
    expect(c.after.graph.nodes[0]!.inputs).toHaveLength(2);
  });

  it('opset: BatchNormalization-7 loses spatial=1 at 9 and its unread statistics outputs at 14', async () => {
    const b = builder(8);
    const x = b.input('x', 'float32', [2, 3, 4, 4]);
    const p = (n: string, s: number) => b.initializer(n, randomFloats(3, s).map((v) => v + 1.5), [3]);
    const [y] = b.node('BatchNormalization', [x, p('g', 1), p('b', 2), p('m', 3), p('v', 4)], { spatial: 1, epsilon: float(1e-3) });
    b.output(y, 'float32', [2, 3, 4, 4]);
    const r = await expectSameOutputs(b.build(), 15, [2, 3, 4, 4]);
    expect(r.after.graph.nodes[0]!.attr('spatial')).toBeUndefined();
  });

  it('opset: Squeeze/Unsqueeze/ReduceSum axes become inputs at 13, the other reductions at 18', async () => {
    const b = builder(12);
    const x = b.input('x', 'float32', [2, 1, 5]);
    const [s] = b.node('Squeeze', [x], { axes: [1] });
    const [u] = b.node('Unsqueeze', [s], { axes: [0, 3] });
    const [r] = b.node('ReduceSum', [u], { axes: [2], keepdims: 0 });
    const [m] = b.node('ReduceMean', [r], { axes: [-1] });
    b.output(m, 'float32', [1, 2, 1]);
    const c = await expectSameOutputs(b.build(), 18, [2, 1, 5], 1e-6);
    expect(c.after.graph.nodes.map((n) => n.inputs.length)).toEqual([2, 2, 2, 2]);
  });

  it('opset: Split-2 split becomes an input at 13, an equal split names num_outputs at 18', async () => {
    const b = builder(11);
    const x = b.input('x', 'float32', [2, 6]);
    const [a, c] = b.node('Split', [x], { axis: 1, split: [2, 4] }, { outputs: 2 });
    const [d, e] = b.node('Split', [c], { axis: 1 }, { outputs: 2 });
    const [s] = b.node('Concat', [e, d, a], { axis: 1 });
    b.output(s, 'float32', [2, 6]);
    const r = await expectSameOutputs(b.build(), 18, [2, 6]);
    expect(r.after.graph.nodes[1]!.getInt('num_outputs')).toBe(2);
  });

  it('opset: Softmax/LogSoftmax/Hardmax on a non-final axis keep the coerce-to-2D meaning at 13 (Flatten → op → Reshape)', async () => {
    const b = builder(12);
    const x = b.input('x', 'float32', [2, 3, 4]);
    const [s] = b.node('Softmax', [x], {}, { name: 'sm' });
    const [l] = b.node('LogSoftmax', [x], { axis: 2 });
    const [h] = b.node('Hardmax', [x], { axis: 0 });
    const [sum] = b.node('Add', [s, l]);
    const [out] = b.node('Add', [sum, h]);
    b.output(out, 'float32', [2, 3, 4]);
    const r = await expectSameOutputs(b.build(), 13, [2, 3, 4], 1e-6);
    expect(r.ops).toEqual(['Shape', 'Flatten', 'Softmax', 'Reshape', 'LogSoftmax', 'Shape', 'Flatten', 'Hardmax', 'Reshape', 'Add', 'Add']);
    expect(r.after.graph.nodes.filter((n) => n.opType.endsWith('max')).map((n) => n.getInt('axis'))).toEqual([-1, -1, -1]);
  });

  it('opset: Softmax whose output is a graph output keeps the output name', async () => {
    const b = builder(11);
    const x = b.input('x', 'float32', [2, 3, 4]);
    const [s] = b.node('Softmax', [x], { axis: 1 });
    b.output(s, 'float32', [2, 3, 4]);
    const r = await expectSameOutputs(b.build(), 17, [2, 3, 4], 1e-6);
    expect(r.after.graph.nodes.at(-1)!.outputs[0]).toBe(s);
  });

  it('opset: Scatter-9 becomes ScatterElements at 11', async () => {
    const b = builder(9);
    const x = b.input('x', 'float32', [3, 4]);
    const idx = b.initializer('idx', BigInt64Array.of(2n, 0n, 1n, 3n), [1, 4]);
    const upd = b.initializer('upd', Float32Array.of(9, 8, 7, 6), [1, 4]);
    const [s] = b.node('Scatter', [x, idx, upd], { axis: 1 });
    b.output(s, 'float32', [3, 4]);
    const r = await expectSameOutputs(b.build(), 13, [3, 4]);
    expect(r.ops).toEqual(['ScatterElements']);
  });

  it('opset: a Conv/Gemm/MaxPool model of opset 7 takes every compatible step unchanged', async () => {
    const b = builder(7);
    const x = b.input('x', 'float32', [1, 2, 6, 6]);
    const [c] = b.node('Conv', [x, b.initializer('w', randomFloats(4 * 2 * 9, 5), [4, 2, 3, 3])], { pads: [1, 1, 1, 1] });
    const [p] = b.node('MaxPool', [c], { kernel_shape: [2, 2], strides: [2, 2] });
    const [a] = b.node('AveragePool', [p], { kernel_shape: [3, 3] });
    const [f] = b.node('Flatten', [a]);
    const [g] = b.node('Gemm', [f, b.initializer('wg', randomFloats(4 * 3, 6), [4, 3]), b.initializer('bg', randomFloats(3, 7), [3])]);
    b.output(g, 'float32', [1, 3]);
    const r = await expectSameOutputs(b.build(), 17, [1, 2, 6, 6]);
    expect(r.changes).toEqual({ opsetRaised: 10, nodesAdapted: 0 });
    expect(r.after.irVersion).toBe(8);
  });
});

describe('opset pass: models older than onnxruntime runs (opset < 7), checked against values computed here', () => {
  it('opset: Add-1 broadcast from an axis becomes an Unsqueeze and numpy broadcasting; consumed_inputs goes (opset 5)', async () => {
    const b = builder(5);
    const x = b.input('x', 'float32', [2, 3, 4]);
    const bias = b.initializer('b', Float32Array.of(10, 20, 30), [3]);
    const [a] = b.node('Add', [x, bias], { broadcast: 1, axis: 1 });
    const [r] = b.node('Relu', [a], { consumed_inputs: [0] });
    b.output(r, 'float32', [2, 3, 4]);
    const { after } = await convert(b.build(), 13);
    expect(after.graph.nodes.map((n) => n.opType)).toEqual(['Unsqueeze', 'Add', 'Relu']);
    const input = randomFloats(24, 5).map((v) => v * 40 - 20);
    const got = (await runModel(after, { x: { data: input, dims: [2, 3, 4] } }))[r]!;
    expect(Array.from(got)).toEqual(Array.from(input, (v, i) => Math.max(0, Math.fround(v + [10, 20, 30][Math.floor(i / 4) % 3]!))));
  });

  it('opset: PRelu-6 with one slope per channel gets the slope as [C,1,1] (numpy broadcasting from 7)', async () => {
    const b = builder(6);
    const x = b.input('x', 'float32', [2, 3, 2, 2]);
    const slope = b.initializer('slope', Float32Array.of(0.5, 0.25, 2), [3]);
    const [y] = b.node('PRelu', [x, slope]);
    b.output(y, 'float32', [2, 3, 2, 2]);
    const { after } = await convert(b.build(), 13);
    expect(after.graph.nodes.map((n) => n.opType)).toEqual(['Unsqueeze', 'PRelu']);
    const input = randomFloats(24, 5).map((v) => v * 2 - 1);
    const got = (await runModel(after, { x: { data: input, dims: [2, 3, 2, 2] } }))[y]!;
    expect(Array.from(got)).toEqual(Array.from(input, (v, i) => (v < 0 ? Math.fround(v * [0.5, 0.25, 2][Math.floor(i / 4) % 3]!) : v)));
  });

  it('opset: Reshape-1 shape attribute, Concat-1 default axis and Cast-1 type names (opset 3) convert to 13', async () => {
    const b = builder(3);
    const x = b.input('x', 'float32', [2, 6]);
    const [r] = b.node('Reshape', [x], { shape: [2, 3, 2] });
    const [c] = b.node('Concat', [r, r]);
    const [k] = b.node('Cast', [c], { to: 'INT32' });
    const [f] = b.node('Cast', [k], { to: 'FLOAT' });
    b.output(f, 'float32', [2, 6, 2]);
    const { after } = await convert(b.build(), 13);
    const input = Float32Array.from({ length: 12 }, (_, i) => i + 0.5);
    const got = (await runModel(after, { x: { data: input, dims: [2, 6] } }))[f]!;
    // Concat on axis 1 of [2,3,2] with itself: each batch row's 6 values twice, truncated toward zero by the int cast.
    expect(Array.from(got)).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 6, 7, 8, 9, 10, 11]);
  });
});

describe('opset pass: subgraphs and refusals', () => {
  it('opset: adapters reach the bodies of If (inside a subgraph)', async () => {
    const b = builder(9);
    const x = b.input('x', 'float32', [2, 6]);
    const [sum] = b.node('ReduceSum', [x], { keepdims: 0 });
    const [cond] = b.node('Greater', [sum, b.initializer('zero', Float32Array.of(0), [])]);
    const branch = (name: string, starts: number[]) => {
      const out = `${name}_y`;
      const bb = new GraphBuilder(name, { opsets: { '': 9 } });
      bb.node('Slice', [x], { starts, ends: [4], axes: [1] }, { outputs: [out] });
      bb.node('Softmax', [out], {}, { outputs: [`${name}_s`] });
      bb.output(`${name}_s`, 'float32', [2, 4 - starts[0]!]);
      return bb.graph;
    };
    const [y] = b.node('If', [cond], { then_branch: branch('then', [1]), else_branch: branch('else', [1]) });
    b.output(y, 'float32', [2, 3]);
    const r = await expectSameOutputs(b.build(), 13, [2, 6], 1e-6);
    const body = r.after.graph.nodes.at(-1)!.subgraphs()[0]!;
    // The body's Slice output has no known rank, so Softmax keeps its old meaning the general way.
    expect(body.nodes.map((n) => n.opType)).toEqual(['Slice', 'Shape', 'Flatten', 'Softmax', 'Reshape']);
    expect(body.nodes[0]!.inputs).toHaveLength(4);
  });

  it('opset: an op change with no adapter is one line naming the op, node and versions (Scan 8 → 9)', async () => {
    const b = builder(8);
    const x = b.input('x', 'float32', [1, 3, 2]);
    const body = new GraphBuilder('body', { opsets: { '': 8 } });
    body.graph.inputs.push(new ValueInfo('s_in', { dtype: 'float32', shape: [2] }), new ValueInfo('x_t', { dtype: 'float32', shape: [2] }));
    body.node('Add', ['s_in', 'x_t'], {}, { outputs: ['s_out'] });
    body.output('s_out', 'float32', [2]);
    const init = b.initializer('s0', Float32Array.of(0, 0), [1, 2]);
    b.node('Scan', ['', init, x], { body: body.graph, num_scan_inputs: 1 }, { name: 'scan', outputs: ['s_last'] });
    b.output('s_last', 'float32', [1, 2]);
    expect(await opsetError(b.build(), 13)).toBe("pass 'opset': cannot convert 'scan' (Scan) from opset 8 to 9: no adapter for its change in opset 9");
  });

  it('opset: BatchNormalization spatial=0 and a read Dropout mask are refused', async () => {
    const bn = builder(8);
    const x = bn.input('x', 'float32', [2, 3]);
    const p = (n: string) => bn.initializer(n, Float32Array.of(1, 1, 1), [3]);
    const [y] = bn.node('BatchNormalization', [x, p('g'), p('b'), p('m'), p('v')], { spatial: 0 }, { name: 'bn' });
    bn.output(y, 'float32', [2, 3]);
    expect(await opsetError(bn.build(), 13)).toBe("pass 'opset': cannot convert 'bn' (BatchNormalization) from opset 8 to 9: spatial=0 (statistics per activation) has no spelling from opset 9 on");

    const d = builder(9);
    const dx = d.input('x', 'float32', [2, 3]);
    const [out, mask] = d.node('Dropout', [dx], {}, { name: 'drop', outputs: 2 });
    d.output(out!, 'float32', [2, 3]);
    d.output(mask!, 'float32', [2, 3]);
    expect(await opsetError(d.build(), 13)).toBe("pass 'opset': cannot convert 'drop' (Dropout) from opset 9 to 10: its output 'drop_out1' is read, and its type changes from the data type to bool in opset 10");

  });

  it('opset: a model at or above the target is left unchanged, and the target must be a whole opset', async () => {
    const b = builder(17);
    b.output(b.node('Relu', [b.input('x', 'float32', [1])])[0]!, 'float32', [1]);
    const r = await convert(b.build(), 13);
    expect(r.after.opset()).toBe(17);
    expect(r.changes).toEqual({ opsetRaised: 0, nodesAdapted: 0 });
    expect(await opsetError(b.build(), 13.5)).toMatch(/option 'target' must be a whole number, got 13.5/);
    expect(await opsetError(b.build(), 22)).toMatch(/option 'target' must be ≤ 21/);
  });
});

/** A paddle2onnx-style opset-9 classifier: Conv, Upsample-free head with Flatten, Gemm and a Softmax on axis 1. */
function opset9Classifier(): Model {
  const b = builder(9);
  const x = b.input('x', 'float32', ['N', 4, 8, 8]);
  const [c] = b.node('Conv', [x, b.initializer('w', randomFloats(8 * 4 * 9, 11), [8, 4, 3, 3]), b.initializer('cb', randomFloats(8, 12), [8])], { pads: [1, 1, 1, 1] }, { name: 'conv' });
  const [r] = b.node('Relu', [c]);
  const [p] = b.node('Pad', [r], { pads: [0, 0, 1, 1, 0, 0, 1, 1] });
  const [g] = b.node('GlobalAveragePool', [p]);
  const [f] = b.node('Flatten', [g]);
  const [fc] = b.node('Gemm', [f, b.initializer('wg', randomFloats(8 * 10, 13), [8, 10]), b.initializer('bg', randomFloats(10, 14), [10])], {}, { name: 'fc' });
  const [s] = b.node('Softmax', [fc], { axis: 1 });
  b.output(s, 'float32', ['N', 10]);
  return b.build();
}

describe('quantize: upgrades an older opset itself', () => {
  it('opset: quantize dynamic and static upgrade an opset-9 model to 13 for per-channel int8, with a note, and run close to float', async () => {
    for (const mode of ['dynamic', 'static'] as const) {
      const before = modelToBytes(opset9Classifier());
      const m = await loadModel(before);
      const notes: string[] = [];
      const calibration = memoryDataset(randomFloats(16 * 256, 21), [16, 4, 8, 8]);
      const result = await quantizeModel(m, { mode, target: 'size' }, { calibration, note: (n) => notes.push(n) });
      expect(m.opset()).toBe(13);
      expect(notes[0]).toBe('opset 9 → 13: upgraded for per-channel int8 (1× Pad pads/value → inputs, 1× Softmax axis made a single axis)');
      expect(result.quantized.length, JSON.stringify(result.keptFloat)).toBeGreaterThan(0);
      expect(await maxOutputDiff(before, m, feeds([2, 4, 8, 8]))).toBeLessThan(0.05);
    }
  });

  it('opset: quantize per tensor needs only opset 11 (dynamic) or 10 (static), and a failed upgrade names the op', async () => {
    const m = opset9Classifier();
    await quantizeModel(m, { mode: 'dynamic', perChannel: false });
    expect(m.opset()).toBe(11);
    const b = builder(8);
    const x = b.input('x', 'float32', [2, 3]);
    const p = (n: string) => b.initializer(n, Float32Array.of(1, 1, 1), [3]);
    const [y] = b.node('BatchNormalization', [x, p('g'), p('b'), p('m'), p('v')], { spatial: 0 }, { name: 'bn' });
    const [z] = b.node('MatMul', [y, b.initializer('w', randomFloats(9, 1), [3, 3])]);
    b.output(z, 'float32', [2, 3]);
    await expect(quantizeModel(b.build(), { mode: 'dynamic' })).rejects.toThrow(
      "quantize: dynamic int8 needs opset 13 and the model imports opset 8; upgrading it failed: cannot convert 'bn' (BatchNormalization) from opset 8 to 9: spatial=0 (statistics per activation) has no spelling from opset 9 on",
    );
  });
});
