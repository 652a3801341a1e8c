import { tmpdir } from 'node:os';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { CheckError, InputError } from '../../src/errors.ts';
import { GraphBuilder, float } from '../../src/ir/builder.ts';
import { Graph } from '../../src/ir/graph.ts';
import type { Model } from '../../src/ir/model.ts';
import { Node } from '../../src/ir/node.ts';
import { ValueInfo } from '../../src/ir/value.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { checkRuns } from '../../src/runtime/check.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import type { QuantizeOptions } from '../../src/quant/int8/types.ts';
import { optimizedOps, randomFloats, runModel } from '../helpers/run-model.ts';
import { activationParams, attentionBlock, convNet, randomDataset } from './graphs.ts';

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType);
const count = (m: Model, op: string) => ops(m).filter((o) => o === op).length;

/**
 * Quantizes a copy (every Conv, however shallow, unless told otherwise; every planned layer int8:
 * target size, as placement by measured speed is not what these tests are about); returns the
 * float bytes, the quantized model and the result.
 */
async function quantize(model: Model, options: Partial<QuantizeOptions>, calibShape: number[]) {
  const before = modelToBytes(model);
  const copy = await loadModel(before);
  const result = await quantizeModel(copy, { minConvInputChannels: 0, target: 'size', ...options }, { calibration: randomDataset(calibShape) });
  return { before, after: copy, result };
}

async function outputs(before: Uint8Array, after: Model, dims: number[]) {
  const feeds = { x: { data: randomFloats(dims.reduce((a, b) => a * b, 1), 99), dims } };
  return [await runModel(before, feeds), await runModel(after, feeds)] as const;
}

/** Output SQNR (dB) of the quantized model against float, on fresh random inputs. */
async function outputSqnr(before: Uint8Array, after: Model, dims: number[]): Promise<number> {
  const [a, b] = await outputs(before, after, dims);
  let signal = 0;
  let noise = 0;
  for (const [k, va] of Object.entries(a)) va.forEach((v, i) => ((signal += v * v), (noise += (v - b[k]![i]!) ** 2)));
  return 10 * Math.log10(signal / noise);
}

/** Largest output difference relative to the largest float output, on fresh random inputs. */
async function relativeError(before: Uint8Array, after: Model, dims: number[]): Promise<number> {
  const [a, b] = await outputs(before, after, dims);
  let diff = 0;
  let ref = 0;
  for (const [k, va] of Object.entries(a)) {
    const vb = b[k]!;
    expect(vb.length).toBe(va.length);
    for (let i = 0; i < va.length; i++) {
      diff = Math.max(diff, Math.abs(va[i]! - vb[i]!));
      ref = Math.max(ref, Math.abs(va[i]!));
    }
  }
  return diff / ref;
}

function residualNet(): Model {
  const b = new GraphBuilder('residual');
  b.input('x', 'float32', ['N', 4, 6, 6]);
  b.initializer('w1', randomFloats(4 * 4 * 9, 71), [4, 4, 3, 3]);
  b.initializer('w2', randomFloats(4 * 4 * 9, 72), [4, 4, 3, 3]);
  b.initializer('lo', Float32Array.of(0), []);
  b.initializer('hi', Float32Array.of(6), []);
  const [c1] = b.node('Conv', ['x', 'w1'], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
  const [r] = b.node('Clip', [c1, 'lo', 'hi'], {}, { name: 'relu6' });
  const [c2] = b.node('Conv', [r, 'w2'], { pads: [1, 1, 1, 1] }, { name: 'conv2' });
  const [s] = b.node('Add', [r, c2], {}, { name: 'residual' });
  const [p] = b.node('GlobalAveragePool', [s], {}, { name: 'gap' });
  const [f] = b.node('Reshape', [p, b.initializer('shape', BigInt64Array.of(0n, -1n), [2])], {}, { name: 'reshape' });
  b.node('Sigmoid', [f], {}, { name: 'sigmoid', outputs: ['y'] });
  b.output('y', 'float32', ['N', 4]);
  return b.build();
}

function gemmNet(transB: number): Model {
  const b = new GraphBuilder('gemm');
  b.input('x', 'float32', ['N', 12]);
  b.initializer('w', randomFloats(12 * 5, 81), transB ? [5, 12] : [12, 5]);
  b.initializer('c', randomFloats(5, 82), [5]);
  b.node('Gemm', ['x', 'w', 'c'], { transB, alpha: 0.75, beta: float(1.5) }, { name: 'gemm', outputs: ['g'] });
  b.node('MatMul', ['g', b.initializer('w2', randomFloats(15, 83), [5, 3])], {}, { name: 'mm', outputs: ['y'] });
  b.output('y', 'float32', ['N', 3]);
  return b.build();
}

describe('quantize: static int8 runs in onnxruntime close to float', () => {
  for (const format of ['qdq', 'qoperator'] as const) {
    it(`quantize: ${format}: Conv + Relu + MaxPool + Concat + Flatten + Gemm(transB) + Add`, async () => {
      const { before, after, result } = await quantize(convNet(), { format }, [64, 3, 8, 8]);
      expect(await relativeError(before, after, [4, 3, 8, 8])).toBeLessThan(0.03);
      expect(ops(after)).not.toContain('Relu'); // folded into conv1's range
      expect(result.quantized).toEqual(['conv1', 'pool1', 'conv2', 'concat', 'flatten', 'fc']); // 'add' is fc's post-op
      if (format === 'qoperator') {
        // QGemm with a float result, the constant Add in float, one QuantizeLinear for y.
        expect(ops(after)).toEqual(['QuantizeLinear', 'QLinearConv', 'MaxPool', 'QLinearConv', 'QLinearConcat', 'Flatten', 'QGemm', 'Add', 'QuantizeLinear', 'DequantizeLinear']);
      } else {
        expect(count(after, 'Conv')).toBe(2);
        // pool1 carries its input's codes (no pair), flatten gets one (onnxruntime does not
        // propagate through Flatten), and fc's result is a graph output that stays float.
        expect(after.graph.nodes.filter((n) => n.opType === 'QuantizeLinear').map((n) => after.graph.index().producer.get(n.inputs[0]!)?.name ?? n.inputs[0])).toEqual(['x', 'conv1', 'conv2', 'concat', 'flatten']);
        // What onnxruntime runs: every layer in 8 bits, no float Conv or Gemm left.
        const run = await optimizedOps(after, tmpdir());
        expect(run.filter((o) => ['QLinearConv', 'QGemm', 'Conv', 'Gemm'].includes(o)).sort()).toEqual(['QGemm', 'QLinearConv', 'QLinearConv']);
      }
      expect(after.graph.outputs.map((o) => o.name)).toEqual(['y']);
    });

    it(`quantize: ${format}: residual Add, Clip(0, 6) folded, GlobalAveragePool, Reshape, float Sigmoid`, async () => {
      const { before, after, result } = await quantize(residualNet(), { format }, [64, 4, 6, 6]);
      expect(await relativeError(before, after, [4, 4, 6, 6])).toBeLessThan(0.03);
      expect(ops(after)).not.toContain('Clip');
      expect(ops(after)).toContain('Sigmoid');
      expect(result.keptFloat).toEqual([]);
      if (format === 'qoperator') expect(ops(after)).toEqual(expect.arrayContaining(['QLinearAdd', 'QLinearGlobalAveragePool', 'Reshape']));
    });

    for (const transB of [0, 1]) {
      it(`quantize: ${format}: Gemm transB=${transB} with alpha and beta, then MatMul with per-column weights`, async () => {
        const { before, after } = await quantize(gemmNet(transB), { format }, [64, 12]);
        expect(await relativeError(before, after, [8, 12])).toBeLessThan(0.03);
        if (format === 'qoperator') expect(ops(after)).toEqual(['QuantizeLinear', 'QGemm', 'QLinearMatMul', 'DequantizeLinear']);
      });
    }
  }

  it('quantize: int8 activations give int8 zero points and the same accuracy', async () => {
    const { before, after } = await quantize(convNet(), { activationType: 'int8' }, [64, 3, 8, 8]);
    expect(activationParams(after, 'x').zeroPoint.dtype).toBe('int8');
    expect(await relativeError(before, after, [4, 3, 8, 8])).toBeLessThan(0.03);
  });

  for (const calibration of ['minmax', 'percentile', 'entropy', 'mse'] as const) {
    it(`quantize: calibration ${calibration} gives a working model`, async () => {
      const { before, after, result } = await quantize(convNet(), { calibration }, [64, 3, 8, 8]);
      expect(result.calibration).toMatchObject({ method: calibration, samples: 64 });
      // entropy clips hardest (it targets classification argmax, not every output value).
      expect(await outputSqnr(before, after, [16, 3, 8, 8])).toBeGreaterThan(calibration === 'entropy' ? 20 : 30);
    });
  }
});

describe('quantize: ranges shared across value-preserving ops', () => {
  it('quantize: MaxPool and Flatten outputs use their input scale; Concat shares only when ranges are alike', async () => {
    const { after } = await quantize(convNet(), {}, [64, 3, 8, 8]);
    const dq = (tensor: string) => after.graph.nodes.find((n) => n.opType === 'DequantizeLinear' && n.outputs[0] === tensor);
    const scaleOf = (tensor: string) => dq(tensor)!.inputs[1];
    // A MaxPool of dequantized codes writes exact codes of its input's range: no Q/DQ of its own.
    expect(dq('pool1_out')).toBeUndefined();
    expect(after.graph.nodes.find((n) => n.opType === 'MaxPool')!.inputs[0]).toBe('relu1_out');
    expect(scaleOf('flatten_out')).toBe(scaleOf('concat_out'));
    // Before opset 13 (MaxPool-10 here) onnxruntime would not propagate through the pool: the pair stays
    // (per tensor: per-channel scales would raise the model to opset 13 first).
    const old = convNet();
    old.opsets.set('', 11);
    const { after: after11 } = await quantize(old, { perChannel: false }, [64, 3, 8, 8]);
    expect(after11.opset()).toBe(11);
    expect(after11.graph.nodes.some((n) => n.opType === 'DequantizeLinear' && n.outputs[0] === 'pool1_out')).toBe(true);
    // conv2's range is far wider than pool1's (relu1's): the Concat requantizes instead of coarsening pool1.
    expect(scaleOf('conv2_out')).not.toBe(scaleOf('relu1_out'));
    expect(scaleOf('concat_out')).not.toBe(scaleOf('relu1_out'));
  });

  it('quantize: a Concat of two views of one tensor shares one range (plain Concat in QOperator)', async () => {
    const b = new GraphBuilder('cat');
    b.input('x', 'float32', ['N', 4]);
    const [m] = b.node('MatMul', ['x', b.initializer('w', randomFloats(16, 91), [4, 4])], {}, { name: 'mm' });
    const [t] = b.node('Transpose', [m], { perm: [0, 1] }, { name: 't' });
    b.node('Concat', [m, t], { axis: 1 }, { name: 'cat', outputs: ['y'] });
    b.output('y', 'float32', ['N', 8]);
    const { before, after } = await quantize(b.build(), { format: 'qoperator' }, [32, 4]);
    expect(ops(after)).toEqual(['QuantizeLinear', 'QLinearMatMul', 'Transpose', 'Concat', 'DequantizeLinear']);
    expect(await relativeError(before, after, [4, 4])).toBeLessThan(0.02);
  });
});

describe('quantize: selection', () => {
  it('quantize: opTypes limits what is quantized', async () => {
    const { after, result } = await quantize(convNet(), { opTypes: ['Conv'] }, [64, 3, 8, 8]);
    expect(result.quantized).toEqual(['conv1', 'conv2']);
    expect(ops(after)).toContain('Relu'); // Relu not selected: not folded
  });

  it('quantize: excludeNodes keeps named nodes in float and names unknown ones', async () => {
    const { result, after } = await quantize(convNet(), { excludeNodes: ['conv2'] }, [64, 3, 8, 8]);
    expect(result.quantized).not.toContain('conv2');
    expect(result.keptFloat).toContainEqual({ node: 'conv2', opType: 'Conv', reason: 'excluded by excludeNodes' });
    expect(after.graph.initializers.get('w2')!.dtype).toBe('float32');
    await expect(quantize(convNet(), { excludeNodes: ['nope'] }, [8, 3, 8, 8])).rejects.toThrow(/node 'nope'/);
  });

  it('quantize: by default a Conv with fewer than 4 input channels stays float, a depthwise one does not', async () => {
    const b = new GraphBuilder('stem');
    b.input('x', 'float32', ['N', 3, 8, 8]);
    const [s] = b.node('Conv', ['x', b.initializer('ws', randomFloats(4 * 3 * 9, 1), [4, 3, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'stem' });
    const [d] = b.node('Conv', [s, b.initializer('wd', randomFloats(4 * 9, 2), [4, 1, 3, 3])], { pads: [1, 1, 1, 1], group: 4 }, { name: 'dw' });
    b.node('Conv', [d, b.initializer('wp', randomFloats(8 * 4, 3), [8, 4, 1, 1])], {}, { name: 'pw', outputs: ['y'] });
    b.output('y', 'float32', ['N', 8, 8, 8]);
    const { result } = await quantize(b.build(), { minConvInputChannels: 4 }, [32, 3, 8, 8]);
    expect(result.quantized).toEqual(['dw', 'pw']);
    expect(result.keptFloat).toEqual([{ node: 'stem', opType: 'Conv', reason: "3 input channels: onnxruntime's int8 convolution is slower than float there (minConvInputChannels 4)" }]);
  });

  it('quantize: a float middle Conv that onnxruntime requantizes at load is named in a note', async () => {
    const notes: string[] = [];
    const feeds = { x: new ort.Tensor('float32', randomFloats(4 * 4 * 36, 5), [4, 4, 6, 6]) };
    const output = async (bytes: Uint8Array, extra: Record<string, unknown> = {}) => {
      const session = await ort.InferenceSession.create(bytes, { extra });
      const y = Object.values(await session.run(feeds))[0]!.data as Float32Array;
      await session.release();
      return y;
    };
    const chain = () => {
      const b = new GraphBuilder('chain');
      let x = b.input('x', 'float32', ['N', 4, 6, 6]);
      for (const [i, name] of ['conv1', 'conv2', 'conv3'].entries()) {
        [x] = b.node('Conv', [x!, b.initializer(`w${i + 1}`, randomFloats(4 * 4 * 9, 40 + i), [4, 4, 3, 3])], { pads: [1, 1, 1, 1] }, { name });
      }
      b.output(x!, 'float32', ['N', 4, 6, 6]);
      return b.build();
    };
    const run = async (exclude: string) => {
      const copy = await loadModel(modelToBytes(chain()));
      notes.length = 0;
      await quantizeModel(copy, { excludeNodes: [exclude], target: 'size' }, { calibration: randomDataset([64, 4, 6, 6]), note: (m) => notes.push(m) });
      const bytes = modelToBytes(copy);
      const asWritten = await output(bytes, { optimization: { disable_specified_optimizers: 'WeightBiasQuantization' } });
      const rewritten = await output(bytes);
      return { copy, requantized: notes.filter((n) => n.includes('WeightBiasQuantization')), changed: asWritten.some((v, i) => v !== rewritten[i]) };
    };
    // conv2 reads conv1's dequantized output and conv3 its quantized result: float in the file,
    // its weights rounded by onnxruntime — as the note says.
    const middle = await run('conv2');
    expect(middle.requantized).toEqual([expect.stringMatching(/^onnxruntime \(1\.20\+\) will still run conv2 with per-tensor int8 weights/)]);
    expect(middle.copy.graph.initializers.get('w2')!.dtype).toBe('float32');
    expect(middle.changed).toBe(true);
    // conv1 reads the float graph input: it really stays float, and no note claims otherwise.
    const first = await run('conv1');
    expect(first.requantized).toEqual([]);
    expect(first.changed).toBe(false);
  });

  it('quantize: keepIoFloat keeps the first and last compute layers in float', async () => {
    const { result } = await quantize(convNet(), { keepIoFloat: true }, [64, 3, 8, 8]);
    expect(result.keptFloat.map((k) => k.node)).toEqual(expect.arrayContaining(['conv1', 'fc']));
    expect(result.quantized).toContain('conv2');
  });

  it('quantize: a recipe forces int8 on an op type not selected and float on another', async () => {
    const { after } = await quantize(residualNet(), { recipe: { layers: { sigmoid: 'int8' } }, format: 'qoperator' }, [64, 4, 6, 6]);
    expect(ops(after)).toContain('QLinearSigmoid');
    const { result } = await quantize(residualNet(), { recipe: { layers: { conv2: 'float' } } }, [64, 4, 6, 6]);
    expect(result.keptFloat).toContainEqual({ node: 'conv2', opType: 'Conv', reason: 'float in the recipe' });
    expect(result.keptFloat).toContainEqual({ node: 'residual', opType: 'Add', reason: 'an input comes from a float node' });
  });

  it('quantize: an Add only float ops read stays float, unless a recipe forces it', async () => {
    const net = () => {
      const b = new GraphBuilder('res');
      b.input('x', 'float32', ['N', 4, 6, 6]);
      const [c1] = b.node('Conv', ['x', b.initializer('w1', randomFloats(4 * 4 * 9, 61), [4, 4, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'conv1' });
      const [c2] = b.node('Conv', [c1, b.initializer('w2', randomFloats(4 * 4 * 9, 62), [4, 4, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'conv2' });
      const [r] = b.node('Add', [c1, c2], {}, { name: 'res' });
      b.node('Sigmoid', [r], {}, { name: 'sigmoid', outputs: ['y'] });
      b.output('y', 'float32', ['N', 4, 6, 6]);
      return b.build();
    };
    const plain = await quantize(net(), {}, [32, 4, 6, 6]);
    expect(plain.result.keptFloat).toContainEqual({ node: 'res', opType: 'Add', reason: 'only float ops read its result' });
    const forced = await quantize(net(), { recipe: { layers: { res: 'int8' } } }, [32, 4, 6, 6]);
    expect(forced.result.quantized).toContain('res');
  });

  it('quantize: value is a graph output and also read by a later layer', async () => {
    const b = new GraphBuilder('tap');
    b.input('x', 'float32', ['N', 6]);
    b.node('MatMul', ['x', b.initializer('w1', randomFloats(36, 5), [6, 6])], {}, { name: 'mm1', outputs: ['h'] });
    b.node('MatMul', ['h', b.initializer('w2', randomFloats(12, 6), [6, 2])], {}, { name: 'mm2', outputs: ['y'] });
    b.output('h', 'float32', ['N', 6]);
    b.output('y', 'float32', ['N', 2]);
    for (const format of ['qdq', 'qoperator'] as const) {
      const { before, after } = await quantize(b.build(), { format }, [32, 6]);
      expect(after.graph.outputs.map((o) => o.name)).toEqual(['h', 'y']);
      expect(await relativeError(before, after, [3, 6])).toBeLessThan(0.03);
    }
  });

  it('quantize: inside a subgraph: the branch the calibration data ran is quantized, the other stays float and says why', async () => {
    const b = new GraphBuilder('sub');
    b.input('x', 'float32', ['N', 4]);
    const [h] = b.node('MatMul', ['x', b.initializer('w', randomFloats(16, 8), [4, 4])], {}, { name: 'mm' });
    const branch = (name: string) => {
      const g = new Graph(name);
      g.initializers.set(`${name}_w`, b.graph.initializers.get('w')!);
      g.nodes = [new Node('MatMul', [h, 'w'], [`${name}_out`], `${name}_mm`)];
      g.outputs = [new ValueInfo(`${name}_out`, { dtype: 'float32', shape: ['N', 4] })];
      return g;
    };
    b.initializer('cond', Uint8Array.of(1), []);
    b.graph.initializers.get('cond')!.dtype = 'bool';
    b.node('If', ['cond'], { then_branch: branch('then'), else_branch: branch('else') }, { name: 'if', outputs: ['y'] });
    b.output('y', 'float32', ['N', 4]);
    const { before, after, result } = await quantize(b.build(), {}, [32, 4]);
    expect(result.quantized).toEqual(['mm', 'then_mm']);
    expect(result.keptFloat).toContainEqual({ node: 'else_mm', opType: 'MatMul', reason: 'the calibration data never ran it (a branch not taken?)' });
    expect(await relativeError(before, after, [2, 4])).toBeLessThan(0.03);
  });
});

describe('quantize: checks', () => {
  it('quantize: the runtime check names the op onnxruntime cannot run (CheckError, exit 1)', async () => {
    const b = new GraphBuilder('bad', { opsets: { '': 17, 'com.microsoft': 1 } });
    b.input('x', 'float32', ['N', 2]);
    b.node('QLinearTanh', ['x'], {}, { name: 'tanh', outputs: ['y'], domain: 'com.microsoft' });
    b.output('y', 'float32', ['N', 2]);
    const err = await checkRuns(modelToBytes(b.build()), 'the qoperator int8 model').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckError);
    expect((err as CheckError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/onnxruntime rejected the qoperator int8 model: .*QLinearTanh/);
  });

  it('quantize: static mode without calibration data, and an already quantized model, are input errors', async () => {
    await expect(quantizeModel(convNet(), {}, {})).rejects.toThrow(InputError);
    const { after } = await quantize(convNet(), {}, [16, 3, 8, 8]);
    await expect(quantizeModel(after, {}, { calibration: randomDataset([8, 3, 8, 8]) })).rejects.toThrow(/already quantized/);
  });

  it('quantize: debugLayers returns SQNR and max error per quantized layer', async () => {
    const { result } = await quantize(convNet(), { debugLayers: true }, [64, 3, 8, 8]);
    expect(result.layers!.map((l) => [l.node, l.tensor])).toEqual([
      ['conv1', 'relu1_out'],
      ['conv2', 'conv2_out'],
      ['fc', 'y'],
    ]);
    for (const l of result.layers!) {
      expect(l.sqnrDb).toBeGreaterThan(25);
      expect(l.maxAbsError).toBeLessThan(0.2 * l.maxAbs); // percentile calibration clips the rare largest values
    }
    expect(result.notes.filter((n) => n.startsWith('debug: '))).toHaveLength(3);
  });
});

describe('quantize: transformer block', () => {
  for (const format of ['qdq', 'qoperator'] as const) {
    it(`quantize: ${format}: attention (MatMul of two activations), residual Add, erf-GELU, opt-in Softmax`, async () => {
      for (const opTypes of [[], ['MatMul', 'Add', 'Mul', 'Softmax', 'Transpose']]) {
        const { before, after, result } = await quantize(attentionBlock(), { format, opTypes }, [64, 6, 8]);
        expect(await outputSqnr(before, after, [8, 6, 8])).toBeGreaterThan(25);
        expect(result.quantized).toEqual(expect.arrayContaining(['q', 'k', 'v', 'scores', 'mix', 'out', 'fc1', 'head']));
        // Bias adds and the score scaling are post-ops of their MatMul; the residual reads the float input x.
        expect(result.quantized).not.toContain('q_bias');
        expect(result.keptFloat).toContainEqual({ node: 'residual', opType: 'Add', reason: 'an input comes from a float node' });
        if (format === 'qoperator') {
          expect(ops(after)).toContain('QLinearMatMul');
          if (opTypes.includes('Softmax')) expect(ops(after)).toContain('QLinearSoftmax');
          else expect(ops(after)).toContain('Softmax');
        }
      }
    });
  }
});
