/**
 * quantize-int4 on small graphs built inline: the emitted tensors are decoded here by the
 * ONNX / MatMulNBits rules (independently of src/quant), the decoded weights must sit within
 * half a quantization step of the float ones, and onnxruntime's output must equal a float64
 * X·Ŵ computed in the test.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { CheckError, InputError } from '../../src/errors.ts';
import { GraphBuilder, float } from '../../src/ir/builder.ts';
import { Graph } from '../../src/ir/graph.ts';
import type { Model } from '../../src/ir/model.ts';
import { Node } from '../../src/ir/node.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { ValueInfo } from '../../src/ir/value.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { writeNpz } from '../../src/data/npz.ts';
import { mulberry32 } from '../../src/math/random.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { quantizeInt4 } from '../../passes/quantize-int4.ts';
import { checkRuns } from '../../src/runtime/check.ts';
import { randomFloats } from '../helpers/run-model.ts';

type Opts = Record<string, unknown>;

async function quantize(model: Model, options: Opts) {
  const copy = await loadModel(modelToBytes(model));
  const result = await runPipeline(copy, [{ pass: quantizeInt4, options }]);
  return { model: copy, changes: result.stages[0]!.changes, notes: result.notes };
}

/** Runs a model in onnxruntime with the given optimization level; DQ→MatMul fusion would otherwise quantize activations. */
async function run(model: Model, feeds: Record<string, { data: Float32Array; dims: number[] }>, optimization: 'disabled' | 'all' = 'disabled') {
  const session = await ort.InferenceSession.create(modelToBytes(model), { graphOptimizationLevel: optimization, logSeverityLevel: 3 });
  try {
    const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)])));
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

// ---------- independent decoding of the emitted tensors ----------

function nibbles(bytes: Uint8Array, count: number, signed: boolean): number[] {
  return Array.from({ length: count }, (_, i) => {
    const v = (bytes[Math.floor(i / 2)]! >> (i % 2 === 0 ? 0 : 4)) & 15;
    return signed && v >= 8 ? v - 16 : v;
  });
}

function init(model: Model, name: string): Tensor {
  for (const g of model.graph.walk()) {
    const t = g.initializers.get(name);
    if (t) return t;
  }
  throw new Error(`no initializer ${name}`);
}

/** DequantizeLinear (blocked) by the ONNX definition: y = (x − zp[block]) · scale[block], in x's shape. */
function decodeDq(model: Model, node: Node): { w: Float64Array; dims: number[]; step: Float64Array } {
  const x = init(model, node.inputs[0]!);
  const scale = init(model, node.inputs[1]!).toFloat32();
  const zpT = node.inputs[2] ? init(model, node.inputs[2]) : undefined;
  const axis = node.getInt('axis', 1);
  const block = node.getInt('block_size', 0);
  const [R, C] = x.dims as [number, number];
  const codes = nibbles(x.bytes(), R * C, x.dtype === 'int4');
  const zps = zpT ? nibbles(zpT.bytes(), scale.length, zpT.dtype === 'int4') : undefined;
  const w = new Float64Array(R * C);
  const step = new Float64Array(R * C);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const si = axis === 0 ? Math.floor(r / block) * C + c : r * Math.ceil(C / block) + Math.floor(c / block);
      w[r * C + c] = (codes[r * C + c]! - (zps?.[si] ?? 0)) * scale[si]!;
      step[r * C + c] = scale[si]!;
    }
  }
  return { w, dims: [R, C], step };
}

/** MatMulNBits by its contrib-op documentation, returned as W [K, N]. */
function decodeNbits(model: Model, node: Node): { w: Float64Array; step: Float64Array } {
  const K = node.getInt('K', 0);
  const N = node.getInt('N', 0);
  const block = node.getInt('block_size', 0);
  const nb = Math.ceil(K / block);
  const b = init(model, node.inputs[1]!).bytes();
  const scales = init(model, node.inputs[2]!).toFloat32();
  const zpBytes = node.inputs[3] ? init(model, node.inputs[3]).bytes() : undefined;
  const w = new Float64Array(K * N);
  const step = new Float64Array(K * N);
  for (let n = 0; n < N; n++) {
    const codes = nibbles(b.subarray(n * nb * (block / 2)), nb * block, false);
    const zps = zpBytes ? nibbles(zpBytes.subarray(n * Math.ceil(nb / 2)), nb, false) : new Array<number>(nb).fill(8);
    for (let k = 0; k < K; k++) {
      const blk = Math.floor(k / block);
      w[k * N + n] = (codes[k]! - zps[blk]!) * scales[n * nb + blk]!;
      step[k * N + n] = scales[n * nb + blk]!;
    }
  }
  return { w, step };
}

function matmul64(x: ArrayLike<number>, w: ArrayLike<number>, M: number, K: number, N: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) y[m * N + n] += x[m * K + k]! * w[k * N + n]!;
  return y;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / scale;
}

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType);

function matmulModel(K: number, N: number, seed = 2) {
  const b = new GraphBuilder('mm', { opsets: { '': 17 } });
  const x = b.input('x', 'float32', ['M', K]);
  const w = b.initializer('w', randomFloats(K * N, seed), [K, N]);
  const [y] = b.node('MatMul', [x, w], {}, { name: 'fc' });
  b.output(y, 'float32', ['M', N]);
  return { model: b.build(), w: randomFloats(K * N, seed) };
}

describe('quantize-int4', () => {
  const K = 96;
  const N = 20;
  const M = 5;
  const x = randomFloats(M * K, 7);
  for (const format of ['matmulnbits', 'dq'] as const) {
    for (const symmetric of [true, false]) {
      it(`quantize-int4: MatMul → ${format} (${symmetric ? 'symmetric int4' : 'asymmetric uint4'}) matches float64 X·Ŵ in onnxruntime`, async () => {
        const { model, w } = matmulModel(K, N);
        const { model: q, changes } = await quantize(model, { format, symmetric, blockSize: 32 });
        expect(changes.nodesQuantized).toBe(1);
        expect(q.graph.initializers.has('w')).toBe(false);
        let deq: Float64Array;
        let step: Float64Array;
        if (format === 'dq') {
          expect(ops(q)).toEqual(['DequantizeLinear', 'MatMul']);
          expect(q.opset('')).toBe(21);
          ({ w: deq, step } = decodeDq(q, q.graph.nodes[0]!));
        } else {
          expect(ops(q)).toEqual(['MatMulNBits']);
          ({ w: deq, step } = decodeNbits(q, q.graph.nodes[0]!));
        }
        for (let i = 0; i < K * N; i++) expect(Math.abs(deq[i]! - w[i]!)).toBeLessThanOrEqual(step[i]! / 2 + 1e-6);
        const out = await run(q, { x: { data: x, dims: [M, K] } });
        expect(maxRelDiff(out['fc_out']!, matmul64(x, deq, M, K, N))).toBeLessThan(1e-5);
        // Weight bytes: codes, scales (and zero points) against float32.
        const ratio = changes.weightBytesAfter! / changes.weightBytesBefore!;
        expect(ratio).toBeLessThanOrEqual(symmetric ? 5 / 32 + 1e-9 : 5.5 / 32 + 1e-9);
      });
    }
  }

  it('quantize-int4: dq under onnxruntime\'s default optimizations (fused to MatMulNBits, int8 activations) stays within 2% of X·Ŵ', async () => {
    const { model } = matmulModel(K, N);
    const { model: q } = await quantize(model, { format: 'dq' });
    const deq = decodeDq(q, q.graph.nodes[0]!).w;
    const out = await run(q, { x: { data: x, dims: [M, K] } }, 'all');
    expect(maxRelDiff(out['fc_out']!, matmul64(x, deq, M, K, N))).toBeLessThan(0.02);
  });

  it('quantize-int4: accuracy level 4 (int8 activations) runs and stays within 2%', async () => {
    const { model } = matmulModel(K, N);
    const { model: q } = await quantize(model, { accuracyLevel: 4 });
    expect(q.graph.nodes[0]!.getInt('accuracy_level')).toBe(4);
    const deq = decodeNbits(q, q.graph.nodes[0]!).w;
    const out = await run(q, { x: { data: x, dims: [M, K] } }, 'all');
    expect(maxRelDiff(out['fc_out']!, matmul64(x, deq, M, K, N))).toBeLessThan(0.02);
  });

  for (const blockSize of [64, 128]) {
    it(`quantize-int4: block size ${blockSize} with K = 160 (last block partial), both formats`, async () => {
      const { model } = matmulModel(160, 8, 4);
      const xs = randomFloats(3 * 160, 5);
      for (const format of ['matmulnbits', 'dq']) {
        const { model: q } = await quantize(model, { format, blockSize, symmetric: false });
        const node = q.graph.nodes.find((n) => n.opType !== 'DequantizeLinear')!;
        const deq = format === 'dq' ? decodeDq(q, q.graph.nodes[0]!).w : decodeNbits(q, node).w;
        const out = await run(q, { x: { data: xs, dims: [3, 160] } });
        expect(maxRelDiff(out['fc_out']!, matmul64(xs, deq, 3, 160, 8))).toBeLessThan(1e-5);
      }
    });
  }

  it('quantize-int4: K = 28 below the block size becomes one block of 32 per column, both formats', async () => {
    const { model } = matmulModel(28, 8, 4);
    const xs = randomFloats(3 * 28, 5);
    for (const format of ['matmulnbits', 'dq']) {
      const { model: q, changes } = await quantize(model, { format, blockSize: 128 });
      expect(changes.nodesQuantized).toBe(1);
      const node = q.graph.nodes[0]!;
      expect(node.getInt('block_size')).toBe(32);
      const deq = format === 'dq' ? decodeDq(q, node).w : decodeNbits(q, node).w;
      const out = await run(q, { x: { data: xs, dims: [3, 28] } });
      expect(maxRelDiff(out['fc_out']!, matmul64(xs, deq, 3, 28, 8))).toBeLessThan(1e-5);
    }
  });

  function gemmModel(cKind: 'const' | 'input' | 'matrix') {
    const b = new GraphBuilder('gemm', { opsets: { '': 17 } });
    const xa = b.input('x', 'float32', [M, 64]);
    const w = b.initializer('w', randomFloats(12 * 64, 3), [12, 64]); // transB: [N, K]
    let c: string;
    if (cKind === 'const') c = b.initializer('c', randomFloats(12, 4), [12]);
    else if (cKind === 'matrix') c = b.initializer('c', randomFloats(M * 12, 4), [M, 12]);
    else c = b.input('c', 'float32', [M, 12]);
    const [y] = b.node('Gemm', [xa, w, c], { transB: 1, alpha: 0.5, beta: float(2) }, { name: 'gemm', outputs: ['y'] });
    b.output(y, 'float32', [M, 12]);
    return b.build();
  }

  for (const cKind of ['const', 'input', 'matrix'] as const) {
    it(`quantize-int4: Gemm transB=1, alpha 0.5, beta 2, C ${cKind} → both formats match alpha·X·Ŵᵀ + beta·C`, async () => {
      const model = gemmModel(cKind);
      const xs = randomFloats(M * 64, 8);
      const cv = randomFloats(cKind === 'const' ? 12 : M * 12, 4);
      const feeds: Record<string, { data: Float32Array; dims: number[] }> = { x: { data: xs, dims: [M, 64] } };
      if (cKind === 'input') feeds.c = { data: cv, dims: [M, 12] };
      for (const format of ['matmulnbits', 'dq'] as const) {
        const { model: q } = await quantize(model, { format });
        let wKN: Float64Array;
        let alpha = 0.5;
        if (format === 'dq') {
          expect(ops(q)).toEqual(['DequantizeLinear', 'Gemm']);
          const { w, dims } = decodeDq(q, q.graph.nodes[0]!);
          expect(dims).toEqual([12, 64]);
          expect(q.graph.nodes[0]!.getInt('axis')).toBe(1);
          wKN = Float64Array.from({ length: 64 * 12 }, (_, i) => w[(i % 12) * 64 + Math.floor(i / 12)]!);
        } else {
          expect(ops(q)[0]).toBe('MatMulNBits');
          expect(ops(q).slice(1)).toEqual(cKind === 'const' ? [] : cKind === 'input' ? ['Mul', 'Add'] : ['Add']);
          wKN = decodeNbits(q, q.graph.nodes[0]!).w;
          alpha = 1; // folded into the weight
        }
        const ref = matmul64(xs, wKN, M, 64, 12).map((v, i) => alpha * v + 2 * cv[cKind === 'const' ? i % 12 : i]!);
        const out = await run(q, feeds);
        expect(maxRelDiff(out['y']!, ref)).toBeLessThan(1e-5);
      }
    });
  }

  it('quantize-int4: a weight shared by two MatMuls is quantized once', async () => {
    const b = new GraphBuilder('shared', { opsets: { '': 17 } });
    const xa = b.input('x', 'float32', ['M', 64]);
    const w = b.initializer('w', randomFloats(64 * 64, 2), [64, 64]);
    const [h] = b.node('MatMul', [xa, w]);
    const [r] = b.node('Relu', [h]);
    const [y] = b.node('MatMul', [r, w]);
    b.output(y, 'float32', ['M', 64]);
    for (const format of ['matmulnbits', 'dq']) {
      const { model: q, changes } = await quantize(b.build(), { format });
      expect(changes).toMatchObject({ nodesQuantized: 2, weightsQuantized: 1 });
      expect(q.graph.initializers.size).toBe(2); // codes and scales
    }
  });

  it('quantize-int4: value is a graph output — the output keeps its name and the MatMul feeding another node too', async () => {
    const b = new GraphBuilder('outs', { opsets: { '': 17 } });
    const xa = b.input('x', 'float32', ['M', 32]);
    const w = b.initializer('w', randomFloats(32 * 32, 2), [32, 32]);
    b.node('MatMul', [xa, w], {}, { outputs: ['h'] });
    b.node('Relu', ['h'], {}, { outputs: ['y'] });
    b.output('h', 'float32', ['M', 32]);
    b.output('y', 'float32', ['M', 32]);
    const { model: q } = await quantize(b.build(), {});
    expect(q.graph.nodes[0]!.outputs).toEqual(['h']);
    const out = await run(q, { x: { data: randomFloats(64, 3), dims: [2, 32] } });
    expect(Object.keys(out).sort()).toEqual(['h', 'y']);
  });

  it('quantize-int4: inside a subgraph — an If branch MatMul reading an outer weight is quantized and runs', async () => {
    const b = new GraphBuilder('ifmodel', { opsets: { '': 17 } });
    b.input('x', 'float32', [2, 32]);
    b.initializer('w', randomFloats(32 * 8, 2), [32, 8]);
    const [cond] = b.node('Constant', [], { value: new Tensor('cond', 'bool', [], { kind: 'raw', chunk: Uint8Array.of(1) }) });
    const branch = (name: string, op: string) => {
      const g = new Graph(name);
      g.nodes = op === 'MatMul' ? [new Node('MatMul', ['x', 'w'], [`${name}_out`], `${name}_mm`)] : [new Node('ReduceSum', ['x'], [`${name}_out`], `${name}_sum`)];
      g.outputs = [new ValueInfo(`${name}_out`, { dtype: 'float32', shape: undefined })];
      return g;
    };
    const [y] = b.node('If', [cond], { then_branch: branch('then', 'MatMul'), else_branch: branch('else', 'ReduceSum') });
    b.output(y, 'float32', undefined as never);
    for (const format of ['matmulnbits', 'dq']) {
      const { model: q, changes } = await quantize(b.build(), { format });
      expect(changes.nodesQuantized).toBe(1);
      const then = q.graph.nodes.find((n) => n.opType === 'If')!.subgraphs()[0]!;
      expect(then.nodes.map((n) => n.opType)).toEqual(format === 'dq' ? ['DequantizeLinear', 'MatMul'] : ['MatMulNBits']);
      const xs = randomFloats(64, 3);
      const out = await run(q, { x: { data: xs, dims: [2, 32] } });
      const deq = format === 'dq' ? decodeDq(q, then.nodes[0]!).w : decodeNbits(q, then.nodes[0]!).w;
      expect(maxRelDiff(Object.values(out)[0]!, matmul64(xs, deq, 2, 32, 8))).toBeLessThan(1e-5);
    }
  });

  it('quantize-int4: keeps in float what it cannot or must not quantize, with the reason', async () => {
    const b = new GraphBuilder('skips', { opsets: { '': 17 } });
    const xa = b.input('x', 'float32', ['M', 8]);
    const small = b.initializer('small', randomFloats(8 * 64, 1), [8, 64]); // K = 8 < 16
    const [h] = b.node('MatMul', [xa, small], {}, { name: 'too_small' });
    const w = b.initializer('w', randomFloats(64 * 64, 2), [64, 64]);
    const [h2] = b.node('MatMul', [h, w], {}, { name: 'excluded' });
    const w3 = b.initializer('w3', randomFloats(64 * 64, 3), [64, 64]);
    const [h3] = b.node('MatMul', [h2, w3], {}, { name: 'kept' });
    const [t] = b.node('Transpose', [h2]);
    const [att] = b.node('MatMul', [h3, t], {}, { name: 'act_x_act' }); // [M,64]·[64,M]: not a weight
    b.output(att, 'float32', undefined as never);
    const { model: q, changes, notes } = await quantize(b.build(), { excludeNodes: 'excluded' });
    expect(changes).toMatchObject({ nodesQuantized: 1, keptFloat: 2 });
    expect(ops(q)).toEqual(['MatMul', 'MatMul', 'MatMulNBits', 'Transpose', 'MatMul']);
    expect(notes.join('\n')).toMatch(/too_small.*K = 8 is below 16/);
    expect(notes.join('\n')).toMatch(/excluded.*excluded by name/);
  });

  it('quantize-int4: format dq raises an opset-17 model to 21, rewriting ReduceMean axes and Split', async () => {
    const b = new GraphBuilder('ln', { opsets: { '': 17 } });
    const xa = b.input('x', 'float32', [2, 64]);
    const [mean] = b.node('ReduceMean', [xa], { axes: [1], keepdims: 1 });
    const [centered] = b.node('Sub', [xa, mean]);
    const [s1, s2] = b.node('Split', [centered], { axis: 1 }, { outputs: 2 });
    const [cat] = b.node('Concat', [s2!, s1!], { axis: 1 });
    const w = b.initializer('w', randomFloats(64 * 4, 2), [64, 4]);
    const [y] = b.node('MatMul', [cat, w], {}, { outputs: ['y'] });
    b.output(y, 'float32', [2, 4]);
    const model = b.build();
    const { model: q, notes } = await quantize(model, { format: 'dq' });
    expect(q.opset('')).toBe(21);
    expect(Number(q.irVersion)).toBeGreaterThanOrEqual(10);
    expect(notes.join('\n')).toMatch(/opset 17 → 21: upgraded for blocked int4 DequantizeLinear \(1× ReduceMean axes → input, 1× Split num_outputs\)/);
    const xs = randomFloats(128, 9);
    // Reference: the float pipeline in float64 with the decoded weight.
    const pre = new Float64Array(128);
    for (let r = 0; r < 2; r++) {
      let m = 0;
      for (let k = 0; k < 64; k++) m += xs[r * 64 + k]! / 64;
      for (let k = 0; k < 64; k++) pre[r * 64 + ((k + 32) % 64)] = xs[r * 64 + k]! - m;
    }
    const deq = decodeDq(q, q.graph.nodes.find((n) => n.opType === 'DequantizeLinear')!).w;
    const out = await run(q, { x: { data: xs, dims: [2, 64] } });
    expect(maxRelDiff(out['y']!, matmul64(pre, deq, 2, 64, 4))).toBeLessThan(1e-5);
  });

  it('quantize-int4: format dq raises an opset-11 model too, and refuses what it cannot raise to opset 21, naming the reason', async () => {
    const old = matmulModel(64, 4).model;
    old.opsets.set('', 11);
    const { model: raised, notes } = await quantize(old, { format: 'dq' });
    expect(raised.opset('')).toBe(21);
    expect(notes).toContain('opset 11 → 21: upgraded for blocked int4 DequantizeLinear');
    const b = new GraphBuilder('gn', { opsets: { '': 18 } });
    const xa = b.input('x', 'float32', [1, 4, 2, 32]);
    const [g] = b.node('GroupNormalization', [xa, b.initializer('s', Float32Array.of(1, 1), [2]), b.initializer('bb', Float32Array.of(0, 0), [2])], { num_groups: 2 });
    const [y] = b.node('MatMul', [g, b.initializer('w', randomFloats(128, 1), [32, 4])]);
    b.output(y, 'float32', [1, 4, 2, 4]);
    await expect(quantize(b.build(), { format: 'dq' })).rejects.toThrow(InputError);
    await expect(quantize(b.build(), { format: 'dq' })).rejects.toThrow(/int4 format dq needs opset 21 and the model imports opset 18; upgrading it failed: cannot convert .*GroupNormalization.* from opset 18 to 21: .* \(format matmulnbits needs no upgrade\)$/);
  });

  it('quantize-int4: bad options are refused before any work', async () => {
    const { model } = matmulModel(64, 4);
    await expect(quantize(model, { blockSize: 48 })).rejects.toThrow(/block size must be one of 32, 64, 128/);
    await expect(quantize(model, { algorithm: 'gptq' })).rejects.toThrow(/gptq needs calibration data/);
  });

  it('quantize-int4: a model onnxruntime cannot run is a CheckError naming the runtime\'s reason', async () => {
    const b = new GraphBuilder('bad', { opsets: { '': 17, 'com.microsoft': 1 } });
    const xa = b.input('x', 'float32', [1, 64]);
    const [y] = b.node('MatMulNBits', [xa, b.initializer('bq', new Uint8Array(4 * 2 * 16), [4, 2, 16]), b.initializer('sc', new Float32Array(8), [4, 2])], { K: 64, N: 4, bits: 4, block_size: 48 }, { domain: 'com.microsoft' });
    b.output(y, 'float32', [1, 4]);
    const err = await checkRuns(b.build(), 'the int4 model').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckError);
    expect((err as Error).message).toMatch(/onnxruntime rejected the int4 model/);
  });
});

describe('quantize-int4 with GPTQ', () => {
  /** Two layers; inputs with correlated features of uneven scale, like a transformer's. */
  function mlp() {
    const b = new GraphBuilder('mlp', { opsets: { '': 17 } });
    const xa = b.input('x', 'float32', ['M', 64]);
    const [h] = b.node('MatMul', [xa, b.initializer('w1', randomFloats(64 * 64, 11), [64, 64])], {}, { name: 'fc1' });
    const [r] = b.node('Relu', [h]);
    const [y] = b.node('Gemm', [r, b.initializer('w2', randomFloats(64 * 64, 12), [64, 64]), b.initializer('b2', randomFloats(64, 13), [64])], { transB: 1 }, { name: 'fc2', outputs: ['y'] });
    b.output(y, 'float32', ['M', 64]);
    return b.build();
  }

  function inputs(rows: number, seed: number): Float32Array {
    const rng = mulberry32(seed);
    const base = randomFloats(64 * 8, 77);
    const out = new Float32Array(rows * 64);
    for (let r = 0; r < rows; r++) {
      const z = Array.from({ length: 8 }, () => rng() * 2 - 1);
      for (let k = 0; k < 64; k++) {
        let v = 0.1 * (rng() * 2 - 1);
        for (let j = 0; j < 8; j++) v += z[j]! * base[j * 64 + k]!;
        out[r * 64 + k] = v * (1 + (k % 5));
      }
    }
    return out;
  }

  it('quantize-int4: gptq beats rtn on held-out inputs (both formats, sequential or not), calibrating from an npz', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'int4-'));
    const calib = join(dir, 'calib.npz');
    await writeNpz(calib, { x: { dtype: 'float32', shape: [256, 64], data: inputs(256, 1) } });
    const model = mlp();
    const held = inputs(128, 2);
    const ref = (await run(model, { x: { data: held, dims: [128, 64] } }))['y']!;
    const error = async (options: Opts) => {
      const { model: q, notes } = await quantize(model, options);
      const y = (await run(q, { x: { data: held, dims: [128, 64] } }))['y']!;
      return { err: y.reduce((s, v, i) => s + (v - ref[i]!) ** 2, 0), notes };
    };
    for (const format of ['matmulnbits', 'dq']) {
      const rtn = (await error({ format })).err;
      for (const sequential of [true, false]) {
        const { err, notes } = await error({ format, algorithm: 'gptq', calib, calibSamples: 200, sequential });
        expect(err).toBeLessThan(0.9 * rtn);
        expect(notes.join('\n')).toMatch(/GPTQ calibration output error is 0\.\d+× round-to-nearest's \(mean over 2 layer/);
      }
    }
  });
});
