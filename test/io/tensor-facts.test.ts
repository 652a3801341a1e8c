import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { tensorFacts, tensorFingerprint } from '../../src/ir/tensor-facts.ts';
import { validateModel } from '../../src/io/validate.ts';
import { summarizeModel } from '../../src/inspect/summary.ts';
import { dedupeInitializers } from '../../src/transforms/dedupe-initializers.ts';
import { toHalfBits } from '../../src/math/float16.ts';
import { randomFloats } from '../helpers/run-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-facts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Float32 tensors backed by one file (as a loaded model's large weights are), each its own slice. */
function fileTensors(name: string, arrays: readonly Float32Array[], dims: (a: Float32Array) => number[] = (a) => [a.length]): { path: string; tensors: Tensor[] } {
  const path = join(dir, `${name}.bin`);
  const bytes = arrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  writeFileSync(path, Buffer.concat(bytes));
  let offset = 0;
  const tensors = arrays.map((a, i) => {
    const t = new Tensor(`${name}${i}`, 'float32', dims(a), { kind: 'raw', chunk: { path, offset, length: a.byteLength } });
    offset += a.byteLength;
    return t;
  });
  return { path, tensors };
}

function modelWith(tensors: readonly Tensor[], op = 'Add') {
  const b = new GraphBuilder('facts');
  let x = b.input('x', 'float32', ['N', tensors[0]!.dims.at(-1)!]);
  for (const t of tensors) {
    b.graph.addInitializer(t);
    [x] = b.node(op, [x!, t.name]);
  }
  b.output(x!, 'float32', ['N', tensors[0]!.dims.at(-1)!]);
  return b.build();
}

describe('tensor facts', () => {
  it('facts: zeros and the first non-finite value of a weight larger than one read, equal to counting its values', () => {
    // 3.5 M floats: 14 MB, more than one 8 MiB piece.
    const v = randomFloats(3_500_000, 3);
    for (let i = 0; i < v.length; i += 7) v[i] = i % 2 ? -0 : 0;
    v[2_500_001] = NaN;
    v[3_000_000] = Infinity;
    const { tensors: [t] } = fileTensors('big', [v]);
    const facts = tensorFacts(t!);
    expect(facts.zeros).toBe(v.filter((x) => x === 0).length);
    expect(facts.nonFinite).toEqual({ index: 2_500_001, value: NaN });
    // The fingerprint from the one read equals the one read from the sampled places alone.
    const { tensors: [fresh] } = fileTensors('big2', [v]);
    expect(tensorFingerprint(fresh!)).toBe(facts.fingerprint);
  });

  it('facts: float16 infinities and NaN are found by their bits', () => {
    const t = Tensor.fromTyped('h', Uint16Array.of(toHalfBits(1), 0, toHalfBits(-Infinity), 0x7e00), [4]);
    t.dtype = 'float16';
    expect(tensorFacts(t)).toMatchObject({ zeros: 1, nonFinite: { index: 2, value: -Infinity } });
  });

  it('facts: validation, the report\'s zero counts and a clone read a file-backed weight once', () => {
    const w = randomFloats(64 * 64, 5);
    w.fill(0, 0, 100);
    const { path, tensors } = fileTensors('once', [w], () => [64, 64]);
    const model = modelWith(tensors);
    validateModel(model);
    // Every later question is answered from the facts of that one read: the file may go.
    rmSync(path);
    expect(summarizeModel(model).zeros).toBe(100);
    expect(summarizeModel(model.clone()).zeros).toBe(100);
  });

  it('facts: validation still names the tensor and index of a NaN', () => {
    const w = randomFloats(16, 6);
    w[9] = NaN;
    const { tensors } = fileTensors('nan', [w], () => [4, 4]);
    const model = modelWith(tensors, 'Mul');
    expect(() => validateModel(model, 'm.onnx')).toThrow(/^m\.onnx: tensor 'nan0' contains NaN at index 9, and node .* multiplies it/);
  });
});

describe('dedupe prefilter', () => {
  it('dedupe: same-shaped weights that differ at sampled bytes are told apart without reading them again', () => {
    const { path, tensors } = fileTensors('apart', [randomFloats(4096, 1), randomFloats(4096, 2), randomFloats(4096, 3)], () => [64, 64]);
    const model = modelWith(tensors);
    validateModel(model); // the run's one read
    rmSync(path); // a full hash now would fail to read
    expect(dedupeInitializers(model.graph)).toBe(0);
    expect(model.graph.initializers.size).toBe(3);
  });

  it('dedupe: weights equal at every sampled byte but different elsewhere are hashed in full and kept apart; equal ones merged', () => {
    const a = randomFloats(4096, 1);
    const b = a.slice();
    b[5] = b[5]! + 1; // bytes 20–23: between the samples at 0–15 and 256–271
    const { tensors } = fileTensors('close', [a, b, a.slice()], () => [64, 64]);
    expect(tensorFacts(tensors[0]!).fingerprint).toBe(tensorFacts(tensors[1]!).fingerprint);
    const model = modelWith(tensors);
    expect(dedupeInitializers(model.graph)).toBe(1);
    expect([...model.graph.initializers.keys()]).toEqual(['close0', 'close1']);
  });
});

describe('tensor facts: int8 zeros', () => {
  it('facts: zero bytes counted four at a time match a plain count, at any alignment and length', () => {
    const backing = new Uint8Array(1003);
    for (let i = 0; i < backing.length; i++) backing[i] = i % 7 === 0 || i % 11 === 0 ? 0 : (i * 37) & 0xff || 1;
    for (const [offset, length] of [[0, 1003], [1, 1000], [3, 5], [2, 1], [1, 0]] as const) {
      const bytes = backing.subarray(offset, offset + length);
      const t = new Tensor('q', 'int8', [length], { kind: 'raw', chunk: bytes });
      expect(tensorFacts(t).zeros, `offset ${offset}, length ${length}`).toBe(bytes.filter((b) => b === 0).length);
    }
  });
});
