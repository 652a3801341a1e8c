import { describe, expect, it } from 'vitest';
import { GraphBuilder, float } from '../../src/ir/builder.ts';
import { affineParams, qrange, quantizeBias, quantizePerChannelSymmetric, roundHalfEven } from '../../src/quant/scales.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { randomFloats } from '../helpers/run-model.ts';
import { activationParams, dequantized, randomDataset } from './graphs.ts';
import { reference } from './reference.ts';


describe('quantize: per-channel scales against a float64 reference', () => {
  it('quantize: Conv weights per output channel (axis 0), including an all-zero channel and exact ties', async () => {
    const dims = [6, 3, 3, 3];
    const w = randomFloats(162, 31).map((v, i) => v * 10 ** (Math.floor(i / 27) - 3)); // channel c ~ 10^(c−3)
    w.fill(0, 27, 54); // channel 1: all zeros (scale falls back to 1)
    // Exact ties: channel 0's max |w| is 127 × 0.5, so w = 0.25 lands on code 0.5 → 0 (half to even).
    w[0] = 63.5;
    w[1] = 0.25;
    w[2] = 0.75;
    const b = new GraphBuilder('conv');
    b.input('x', 'float32', ['N', 3, 5, 5]);
    b.initializer('w', w, dims);
    b.initializer('bias', randomFloats(6, 32), [6]);
    b.node('Conv', ['x', 'w', 'bias'], {}, { name: 'conv', outputs: ['y'] });
    b.output('y', 'float32', ['N', 6, 3, 3]);
    const m = b.build();
    await quantizeModel(m, { calibration: 'minmax', minConvInputChannels: 0, target: 'size' }, { calibration: randomDataset([16, 3, 5, 5]) });
    const ref = reference(w, dims, 0);
    const wq = dequantized(m, 'conv', 1);
    expect(Array.from(wq.scale.toFloat32())).toEqual(ref.scales);
    expect(Array.from(wq.codes!.typed() as Int8Array)).toEqual(ref.q);
    expect(ref.q.slice(0, 3)).toEqual([127, 0, 2]);
    expect(wq.codes!.dtype).toBe('int8');
        // Symmetric: no zero point stored (DequantizeLinear's default is 0).
    expect([wq.axis, wq.node.inputs.length, wq.zeroPoint]).toEqual([0, 2, undefined]);
    // Bias: int32 with scale = input scale × weight scale, per channel.
    const xs = activationParams(m, 'x').scale.toFloat32()[0]!;
    const bq = dequantized(m, 'conv', 2);
    const bias = bq.codes!.typed() as Int32Array;
    const bs = bq.scale.toFloat32();
    const bf = randomFloats(6, 32);
    for (let c = 0; c < 6; c++) {
      expect(bs[c]).toBe(Math.fround(xs * ref.scales[c]!));
      expect(bias[c]).toBe(Math.round(bf[c]! / bs[c]!));
    }
  });

  it('quantize: MatMul [K,N] weights per output column (axis 1)', async () => {
    const dims = [5, 7];
    const w = randomFloats(35, 41).map((v, i) => v * (1 + (i % 7)));
    const b = new GraphBuilder('mm');
    b.input('x', 'float32', ['N', 5]);
    b.initializer('w', w, dims);
    b.node('MatMul', ['x', 'w'], {}, { name: 'mm', outputs: ['y'] });
    b.output('y', 'float32', ['N', 7]);
    const m = b.build();
    await quantizeModel(m, { target: 'size' }, { calibration: randomDataset([16, 5]) });
    const ref = reference(w, dims, 1);
    const wq = dequantized(m, 'mm', 1);
    expect(Array.from(wq.scale.toFloat32())).toEqual(ref.scales);
    expect(wq.scale.dims).toEqual([7]);
    expect(Array.from(wq.codes!.typed() as Int8Array)).toEqual(ref.q);
    expect(wq.axis).toBe(1);
  });

  for (const transB of [0, 1]) {
    it(`quantize: Gemm transB=${transB} weights per output column, alpha folded in`, async () => {
      const dims = transB ? [4, 6] : [6, 4];
      const w = randomFloats(24, 51 + transB);
      const b = new GraphBuilder('gemm');
      b.input('x', 'float32', ['N', 6]);
      b.initializer('w', w, dims);
      b.initializer('c', randomFloats(4, 53), [4]);
      b.node('Gemm', ['x', 'w', 'c'], { transB, alpha: 0.5, beta: float(2) }, { name: 'gemm', outputs: ['y'] });
      b.output('y', 'float32', ['N', 4]);
      const m = b.build();
      await quantizeModel(m, { target: 'size' }, { calibration: randomDataset([16, 6]) });
      const ref = reference(w.map((v) => v * 0.5), dims, transB ? 0 : 1);
      const wq = dequantized(m, 'gemm', 1);
      expect(Array.from(wq.scale.toFloat32())).toEqual(ref.scales);
      expect(Array.from(wq.codes!.typed() as Int8Array)).toEqual(ref.q);
      expect(wq.axis).toBe(transB ? 0 : 1);
      const gemm = m.graph.nodes.find((n) => n.opType === 'Gemm')!;
      expect([gemm.getFloat('alpha', 1), gemm.getFloat('beta', 1)]).toEqual([1, 1]);
    });
  }

  it('quantize: the pure helpers agree with the reference on a 3-D tensor along each axis', () => {
    const dims = [3, 4, 5];
    const w = randomFloats(60, 61).map((v) => v * 3);
    for (const axis of [0, 1, 2]) {
      const ref = reference(w, dims, axis);
      const got = quantizePerChannelSymmetric(w, dims, axis);
      expect(Array.from(got.scales)).toEqual(ref.scales);
      expect(Array.from(got.values)).toEqual(ref.q);
    }
  });

  it('quantize: affine parameters contain 0, round half to even, and bias clamps to int32', () => {
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(-2.5)).toBe(-2);
    expect(roundHalfEven(3.5)).toBe(4);
    const p = affineParams(-1, 3, qrange('uint8'));
    expect(p.scale).toBe(Math.fround(4 / 255));
    expect(p.zeroPoint).toBe(64); // 0 − (−1)/s = 63.75
    expect(affineParams(0.5, 2, qrange('uint8')).zeroPoint).toBe(0); // widened to [0, 2]
    expect(affineParams(-3, -1, qrange('int8')).zeroPoint).toBe(127);
    expect(affineParams(0, 0, qrange('uint8'))).toEqual({ scale: 1, zeroPoint: 0 });
    const b = quantizeBias([1e9, -2], 1e-3, [1e-3]);
    expect(b.clamped).toBe(1);
    expect(Array.from(b.values)).toEqual([2147483647, -2000000]);
  });
});

describe('quantize: SIMD kernels', () => {
  it('quantize: SIMD codes and scales equal the float64 reference, per row and per column, with remainders', () => {
    for (const [rows, cols] of [
      [67, 97], // neither a multiple of 4 nor of 16: exercises the scalar tails
      [64, 128],
      [130, 33],
    ] as const) {
      const w = randomFloats(rows * cols, rows + cols).map((v, i) => v * (1 + (i % 13)) * 10 ** ((i % 5) - 2));
      w.fill(0, 0, cols); // an all-zero row
      w[cols + 1] = -0;
      for (const axis of [0, 1]) {
        const got = quantizePerChannelSymmetric(w, [rows, cols], axis);
        const ref = reference(w, [rows, cols], axis);
        expect(Array.from(got.scales)).toEqual(ref.scales);
        expect(Array.from(got.values)).toEqual(ref.q);
      }
    }
  });

  it('quantize: exact ties round half to even in the SIMD path too', () => {
    const w = new Float32Array(64 * 64);
    for (let i = 0; i < w.length; i++) w[i] = ((i % 255) - 127) / 2; // codes k/2 with scale 0.5·(127/127)
    w[0] = 127 * 0.5; // max |w| = 63.5 per column 0 → scale 0.5
    const ref = reference(w, [64, 64], 0);
    const got = quantizePerChannelSymmetric(w, [64, 64], 0);
    expect(Array.from(got.values)).toEqual(ref.q);
  });
});
