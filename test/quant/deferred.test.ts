import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { GraphBuilder, float } from '../../src/ir/builder.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes, saveModel } from '../../src/io/save.ts';
import { DeferredWeight } from '../../src/quant/int8/dynamic-weight.ts';
import { WeightPool } from '../../src/quant/kernels/parallel.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { randomFloats } from '../helpers/run-model.ts';
import { reference } from './reference.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-deferred-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 80 KiB of codes: enough whole 4 KiB blocks in the middle for O_DIRECT writes.
const [rows, cols] = [256, 320];
const w = randomFloats(rows * cols, 12).map((v, i) => v * (1 + (i % 9)));

/** `w` at byte 12 of a file (as in a model file). */
function weightFile(): string {
  const path = join(dir, 'w.bin');
  writeFileSync(path, Buffer.concat([Buffer.alloc(12), new Uint8Array(w.buffer)]));
  return path;
}

/** `w` as a lazy tensor (what loading a model gives). */
const fileTensor = () => new Tensor('w', 'float32', [rows, cols], { kind: 'raw', chunk: { path: weightFile(), offset: 12, length: w.byteLength } });

const int8 = (b: Uint8Array | undefined) => Array.from(new Int8Array(b!.buffer, b!.byteOffset, b!.byteLength));
const float32 = (b: Uint8Array | undefined) => Array.from(new Float32Array(b!.slice().buffer));

describe('quantize: deferred dynamic weights', () => {
  it('quantize: a worker writes the codes at their offset (transposed and scaled when asked) and returns the scales', async () => {
    const pool = WeightPool.create(2)!;
    try {
      const path = join(dir, 'out.bin');
      writeFileSync(path, new Uint8Array(8 + 2 * rows * cols));
      const fd = openSync(path, 'r+');
      const source = { path: weightFile(), offset: 12 };
      const [byColumn, byRow] = await Promise.all([
        pool.quantizeTo({ source, rows, cols, perColumn: true, perChannel: true, factor: 1 }, { fd, path, position: 8 }),
        pool.quantizeTo({ source, rows, cols, perColumn: false, perChannel: true, factor: 0.5, transpose: true }, { fd, path, position: 8 + rows * cols }),
      ]);
      closeSync(fd);
      const out = new Int8Array(readFileSync(path).buffer);
      const refC = reference(w, [rows, cols], 1);
      const refR = reference(w.map((v) => v * 0.5), [rows, cols], 0);
      expect(Array.from(byColumn)).toEqual(refC.scales);
      expect(Array.from(out.subarray(8, 8 + rows * cols))).toEqual(refC.q);
      expect(Array.from(byRow)).toEqual(refR.scales);
      const transposed = Array.from({ length: rows * cols }, (_, i) => refR.q[(i % rows) * cols + Math.floor(i / rows)]);
      expect(Array.from(out.subarray(8 + rows * cols))).toEqual(transposed);
    } finally {
      await pool.close();
    }
  });

  it('quantize: deferred codes and scales are the reference whichever is asked for first, read or produced on workers', async () => {
    const ref = reference(w, [rows, cols], 1);
    const read = new DeferredWeight(fileTensor(), false, true, 1, false);
    expect(int8(read.codes.read())).toEqual(ref.q);
    expect(float32(read.scales.read())).toEqual(ref.scales);
    const scalesFirst = new DeferredWeight(fileTensor(), false, true, 1, true);
    expect(float32(await scalesFirst.scales.produce())).toEqual(ref.scales);
    expect(int8(await scalesFirst.codes.produce())).toEqual(ref.q);
    const both = new DeferredWeight(fileTensor(), false, true, 1, true);
    const [codes, scales] = await Promise.all([both.codes.produce(), both.scales.produce()]);
    expect(int8(codes)).toEqual(ref.q);
    expect(float32(scales)).toEqual(ref.scales);
  });

  it('quantize: a large dynamic model saved after the structural check (codes written by workers) has the bytes computed on the main thread', async () => {
    // 36 MiB of weights: above the size where they go to worker threads.
    const b = new GraphBuilder('big', { opsets: { '': 17 } });
    b.input('x', 'float32', ['N', 2048]);
    b.initializer('w0', randomFloats(2048 * 4096, 1), [2048, 4096]);
    b.node('MatMul', ['x', 'w0'], {}, { name: 'm0', outputs: ['a'] });
    b.initializer('w1', randomFloats(256 * 4096, 2), [256, 4096]);
    b.initializer('b1', randomFloats(256, 3), [256]);
    b.node('Gemm', ['a', 'w1', 'b1'], { transB: 1, alpha: 0.5, beta: float(2) }, { name: 'g1', outputs: ['y'] });
    b.output('y', 'float32', ['N', 256]);
    const input = join(dir, 'big.onnx');
    await saveModel(b.build(), input);

    const deferred = await loadModel(input);
    await quantizeModel(deferred, { mode: 'dynamic', runtimeCheck: 'structure' });
    const pending = [...deferred.graph.initializers.values()].filter((t) => t.isDeferred);
    expect(pending.map((t) => t.dims)).toEqual([[2048, 4096], [4096], [4096, 256], [256]]);
    const toFile = vi.spyOn(WeightPool.prototype, 'quantizeTo');
    try {
      await saveModel(deferred, join(dir, 'deferred.onnx'));
      expect(toFile).toHaveBeenCalledTimes(2);
    } finally {
      toFile.mockRestore();
    }

    const read = await loadModel(input);
    await quantizeModel(read, { mode: 'dynamic', runtimeCheck: 'structure' });
    expect(readFileSync(join(dir, 'deferred.onnx')).equals(modelToBytes(read))).toBe(true); // (toEqual on 9 MB is slow)
  });
});
