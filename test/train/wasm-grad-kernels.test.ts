import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTrainingBackend, Seeded } from '../../src/train/backend.ts';
import { registerWasmTrainingKernels } from '../../src/train/wasm-grad-kernels.ts';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

type Op = (x: tf.Tensor, w: tf.Tensor) => tf.Tensor;

/** Gradients of sum(op(x, w) * r) for both inputs, on the given backend, as plain arrays. */
function grads(backend: string, op: Op, x: Float32Array, xShape: number[], w: Float32Array, wShape: number[]): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const xt = tf.tensor(x, xShape);
    const wt = tf.tensor(w, wShape);
    const y = op(xt, wt);
    const r = tf.tensor(new Seeded(7).normals(y.size, 1), y.shape);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => op(a, b).mul(r).sum())([xt, wt]).map((t) => t.dataSync() as Float32Array);
  });
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(1, ...expected.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale).toBeLessThan(1e-4);
}

/** Compares dx and dw of `op` between the wasm backend (our kernels) and the cpu backend. */
function compare(op: Op, xShape: number[], wShape: number[]): void {
  const rng = new Seeded(xShape.concat(wShape).reduce((a, b) => a * 31 + b, 1));
  const x = rng.normals(xShape.reduce((a, b) => a * b), 1);
  const w = rng.normals(wShape.reduce((a, b) => a * b), 0.5);
  const cpu = grads('cpu', op, x, xShape, w, wShape);
  const wasm = grads('wasm', op, x, xShape, w, wShape);
  expectClose(wasm[0]!, cpu[0]!);
  expectClose(wasm[1]!, cpu[1]!);
}

const cases: Array<{ kh: number; kw: number; stride: number; pad: Pad; h: number; w: number }> = [
  { kh: 3, kw: 3, stride: 1, pad: 'same', h: 9, w: 8 },
  { kh: 3, kw: 3, stride: 2, pad: 'same', h: 9, w: 8 },
  { kh: 5, kw: 5, stride: 1, pad: 'valid', h: 10, w: 11 },
  { kh: 3, kw: 2, stride: 2, pad: 'valid', h: 8, w: 9 },
  { kh: 2, kw: 3, stride: 2, pad: 'same', h: 7, w: 7 },
  { kh: 3, kw: 3, stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]], h: 8, w: 8 },
  { kh: 1, kw: 1, stride: 1, pad: 'valid', h: 5, w: 5 },
];
const label = (c: (typeof cases)[number]) => `${c.kh}x${c.kw} stride ${c.stride} pad ${JSON.stringify(c.pad)} on ${c.h}x${c.w}`;

describe('wasm training kernels', () => {
  beforeAll(async () => {
    await initTrainingBackend();
  });

  for (const c of cases) {
    it(`wasm grads: Conv2DBackpropFilter and Conv2DBackpropInput match cpu backend, ${label(c)}`, () => {
      compare((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad), [3, c.h, c.w, 4], [c.kh, c.kw, 4, 5]);
    });
    it(`wasm grads: DepthwiseConv2dNativeBackpropFilter and Input match cpu backend, ${label(c)}`, () => {
      compare((x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad), [3, c.h, c.w, 4], [c.kh, c.kw, 4, 2]);
    });
  }

  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    it(`wasm grads: BatchMatMul transposeA=${ta} transposeB=${tb} (single and batched) matches cpu backend`, () => {
      const dims = (batch: number[], rows: number, cols: number, t: boolean) => [...batch, t ? cols : rows, t ? rows : cols];
      for (const batch of [[], [1], [3]]) compare((a, b) => tf.matMul(a, b, ta, tb), dims(batch, 5, 7, ta), dims(batch, 7, 4, tb));
    });
  }

  it('wasm grads: UnsortedSegmentSum (the gradient of gather) matches cpu backend', () => {
    const table = new Seeded(3).normals(6 * 4, 1);
    const run = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() => {
        const t = tf.tensor2d(table, [6, 4]);
        const ids = tf.tensor1d([5, 0, 5, 2, 2, 2], 'int32');
        const r = tf.tensor2d(new Seeded(4).normals(6 * 4, 1), [6, 4]);
        return tf.grad((v: tf.Tensor) => tf.gather(v, ids).mul(r).sum())(t).dataSync() as Float32Array;
      });
    };
    const wasm = run('wasm');
    expectClose(wasm, run('cpu'));
    expect(Array.from(wasm.slice(4, 8))).toEqual([0, 0, 0, 0]); // row 1 was never gathered
  });

  for (const [k, stride, pad] of [[2, 2, 'valid'], [3, 3, 'valid'], [3, 2, 'same'], [3, 1, 'valid'], [2, 1, 'same']] as const) {
    it(`wasm grads: MaxPoolGrad ${k}x${k} stride ${stride} pad ${pad} matches cpu backend (the native one drops windows)`, () => {
      const values = new Seeded(6 + k + stride).normals(2 * 7 * 6 * 3, 1);
      const r = new Seeded(9).normals(2 * 7 * 6 * 3, 1);
      const run = (backend: string) => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const f = (v: tf.Tensor) => {
            const y = tf.maxPool(v as tf.Tensor4D, k, stride, pad);
            return y.reshape([-1]).mul(tf.tensor1d(r.slice(0, y.size))).sum();
          };
          return tf.grad(f)(tf.tensor(values, [2, 7, 6, 3])).dataSync() as Float32Array;
        });
      };
      expectClose(run('wasm'), run('cpu'));
    });
  }

  it('wasm grads: relu6, sigmoid and tanh gradients need no extra kernel and match cpu backend', () => {
    const values = new Seeded(5).normals(64, 4);
    const run = (backend: string) => {
      tf.setBackend(backend);
      return tf.tidy(() => tf.grad((v: tf.Tensor) => tf.relu6(v).add(tf.sigmoid(v)).add(tf.tanh(v)).sum())(tf.tensor1d(values)).dataSync() as Float32Array);
    };
    expectClose(run('wasm'), run('cpu'));
  });

  it('wasm grads: registering again keeps the same kernels', () => {
    const before = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm');
    registerWasmTrainingKernels();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')?.kernelFunc).toBe(before?.kernelFunc);
    compare((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), [2, 6, 6, 3], [3, 3, 3, 2]);
  });
});
