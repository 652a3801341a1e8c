import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { classLabels, openDataset, toFloat32, type Batch, type Dataset } from '../../src/data/dataset.ts';
import { planDataset } from '../../src/runtime/batches.ts';
import type { DType } from '../../src/onnx/dtype.ts';
import { encodeNpy, type NpArray } from '../../src/data/npy.ts';
import { readNpz, writeNpz } from '../../src/data/npz.ts';
import { inputErrorOf } from '../helpers/errors.ts';

const CALIB = join(import.meta.dirname, '../../fixtures/data/mnist-calib.npz');
const dir = mkdtempSync(join(tmpdir(), 'shrinkray-ds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string) => join(dir, `${counter++}-${name}`);

async function collect(ds: Dataset, batchSize: number, limit?: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of ds.batches(batchSize, limit === undefined ? {} : { limit })) out.push(b);
  return out;
}

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Values a seeded generator makes, so deflate cannot shrink them much. */
function noise(n: number): Float32Array {
  let s = 12345;
  return Float32Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('dataset', () => {
  it('dataset: npz batches cover the MNIST calib split in order', async () => {
    const ds = await openDataset(CALIB);
    const whole = await readNpz(CALIB);
    try {
      expect(ds.x).toEqual({ dtype: 'float32', shape: [999, 1, 28, 28] });
      expect(ds.y).toEqual({ dtype: 'int64', shape: [999] });
      const batches = await collect(ds, 128);
      expect(batches.map((b) => b.shape[0])).toEqual([128, 128, 128, 128, 128, 128, 128, 103]);
      expect(batches.map((b) => b.start)).toEqual([0, 128, 256, 384, 512, 640, 768, 896]);
      expect(batches.at(-1)?.shape).toEqual([103, 1, 28, 28]);
      expect(batches.reduce((n, b) => n + b.shape[0], 0)).toBe(ds.length);
      // equals(), not toEqual: a failing diff of 3 MB would take vitest many seconds to print.
      expect(Buffer.concat(batches.map((b) => bytesOf(b.x))).equals(bytesOf(whole.x.data))).toBe(true);
      expect(Buffer.concat(batches.map((b) => bytesOf(b.y!))).equals(bytesOf(whole.y.data))).toBe(true);
    } finally {
      await ds.close();
    }
  });

  it('dataset: limit caps the number of samples', async () => {
    const ds = await openDataset(CALIB);
    try {
      expect((await collect(ds, 128, 300)).map((b) => b.shape[0])).toEqual([128, 128, 44]);
      expect(await collect(ds, 128, 0)).toEqual([]);
      expect((await collect(ds, 500, 5000)).map((b) => b.shape[0])).toEqual([500, 499]);
      expect((await inputErrorOf(collect(ds, 0))).message).toBe('batch size must be a positive integer (got 0)');
    } finally {
      await ds.close();
    }
  });

  it('dataset: reads a folder of x.npy and y.npy', async () => {
    const folder = fresh('npy-dir');
    mkdirSync(folder);
    const x: NpArray = { dtype: 'uint8', shape: [5, 2], data: Uint8Array.from({ length: 10 }, (_, i) => i * 20) };
    writeFileSync(join(folder, 'x.npy'), encodeNpy(x));
    writeFileSync(join(folder, 'y.npy'), encodeNpy({ dtype: 'int32', shape: [5], data: new Int32Array([4, 3, 2, 1, 0]) }));
    const ds = await openDataset(folder);
    const batches = await collect(ds, 2);
    await ds.close();
    expect(batches.map((b) => [...b.x])).toEqual([[0, 20, 40, 60], [80, 100, 120, 140], [160, 180]]);
    expect(batches.map((b) => [...b.y!])).toEqual([[4, 3], [2, 1], [0]]);
  });

  it('dataset: a single .npy is x without y', async () => {
    const path = fresh('x.npy');
    writeFileSync(path, encodeNpy({ dtype: 'float64', shape: [3], data: new Float64Array([1, 2, 3]) }));
    const ds = await openDataset(path);
    const batches = await collect(ds, 2);
    await ds.close();
    expect(ds.y).toBeUndefined();
    expect(batches.map((b) => [b.shape, [...b.x], b.y])).toEqual([[[2], [1, 2], undefined], [[1], [3], undefined]]);
  });

  it('dataset: y with another sample count names both arrays', async () => {
    const path = fresh('bad.npz');
    await writeNpz(path, {
      x: { dtype: 'float32', shape: [4, 2], data: new Float32Array(8) },
      y: { dtype: 'int64', shape: [3], data: new BigInt64Array(3) },
    });
    expect((await inputErrorOf(openDataset(path))).message).toBe(`${path}: y has 3 samples but x has 4`);
  });

  it('dataset: missing, garbage and truncated paths fail with a one-line InputError', async () => {
    const missing = join(dir, 'missing.npz');
    expect((await inputErrorOf(openDataset(missing))).message).toBe(`${missing}: no such file or directory`);
    const garbage = fresh('garbage.npz');
    writeFileSync(garbage, 'x'.repeat(100));
    expect((await inputErrorOf(openDataset(garbage))).message).toMatch(/not a zip\/npz file/);
    const cut = fresh('cut.npy');
    writeFileSync(cut, encodeNpy({ dtype: 'float32', shape: [10], data: new Float32Array(10) }).subarray(0, 164));
    expect((await inputErrorOf(openDataset(cut))).message).toBe(`${cut}: truncated .npy data (36 of 40 bytes)`);
  });

  for (const compress of [false, true]) {
    it(`dataset: reads per batch, not the whole file up front (${compress ? 'deflated' : 'stored'})`, async () => {
      const path = fresh('big.npz');
      await writeNpz(path, { x: { dtype: 'float32', shape: [1000, 512], data: noise(512_000) } }, { compress });
      const ds = await openDataset(path);
      try {
        const it = ds.batches(50)[Symbol.asyncIterator]();
        expect((await it.next()).value?.shape).toEqual([50, 512]);
        // Cut the file after the first batch: a reader that loaded it all would not notice.
        truncateSync(path, 200_000);
        const err = await inputErrorOf((async () => {
          for (let r = await it.next(); r.done !== true; r = await it.next());
        })());
        expect(err.message).toBe(`${path} (x.npy): truncated (file ended early)`);
      } finally {
        await ds.close();
      }
    });
  }

  /** A model with one input, as a session describes it. */
  const oneInput = (dtype: DType, shape: (number | string)[]) => ({ label: 'm.onnx', inputs: [{ name: 'input', dtype, shape }], outputs: [] });

  it('dataset: planDataset allows symbolic and fixed batch dims', async () => {
    const ds = await openDataset(CALIB);
    await ds.close();
    for (const shape of [['N', 1, 28, 28], [1, 1, 28, 28], [-1, 1, 'h', 'w']]) {
      expect(() => planDataset(oneInput('float32', shape), ds)).not.toThrow();
    }
  });

  it('dataset: planDataset names the array and the expected shape', async () => {
    const path = fresh('flat.npz');
    await writeNpz(path, { x: { dtype: 'uint8', shape: [100, 784], data: new Uint8Array(78_400) } });
    const ds = await openDataset(path);
    await ds.close();
    const fit = (dtype: DType, shape: (number | string)[]) => () => planDataset(oneInput(dtype, shape), ds);
    expect(fit('float32', ['N', 1, 28, 28])).toThrow(
      new InputError(`${path}: data set x has shape [100,784] but model input 'input' expects [N,1,28,28] (same 784 values per sample: reshape the data set)`),
    );
    expect(fit('float32', ['N', 10])).toThrow(new InputError(`${path}: data set x has shape [100,784] but model input 'input' expects [N,10]`));
    expect(fit('int64', ['N', 784])).toThrow(new InputError(`${path}: data set x is uint8 but model input 'input' expects int64`));
    expect(fit('float32', ['N', 784])).not.toThrow();
    expect(fit('uint8', ['N', 784])).not.toThrow();
  });

  it('dataset: toFloat32 converts uint8, int64 and float16, and keeps float32 as is', () => {
    expect([...toFloat32(new Uint8Array([0, 128, 255]), 'uint8')]).toEqual([0, 128, 255]);
    expect([...toFloat32(new BigInt64Array([-3n, 7n]), 'int64')]).toEqual([-3, 7]);
    // 1, -2, 0.5, 2^-24 (smallest subnormal), +Inf
    expect([...toFloat32(new Uint16Array([0x3c00, 0xc000, 0x3800, 0x0001, 0x7c00]), 'float16')]).toEqual([1, -2, 0.5, 2 ** -24, Infinity]);
    const f = new Float32Array([1.5]);
    expect(toFloat32(f, 'float32')).toBe(f);
  });

  it('dataset: classLabels turns int64 y into Int32Array and refuses non-labels', async () => {
    const path = fresh('labels.npz');
    await writeNpz(path, {
      x: { dtype: 'float32', shape: [3, 1], data: new Float32Array(3) },
      y: { dtype: 'float32', shape: [3], data: new Float32Array([1, 2.5, 0]) },
    });
    const ds = await openDataset(path);
    const [batch] = await collect(ds, 3);
    await ds.close();
    expect(() => classLabels(ds, batch)).toThrow(new InputError(`${path}: y[1] = 2.5 is not a class index`));
    const calib = await openDataset(CALIB);
    const [first] = await collect(calib, 4, 4);
    await calib.close();
    const labels = classLabels(calib, first);
    expect(labels).toBeInstanceOf(Int32Array);
    expect([...labels]).toEqual([...first.y!].map(Number));
    expect(() => classLabels(ds, { ...batch, y: undefined })).toThrow(/has no y/);
  });
});
