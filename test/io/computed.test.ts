import { mkdtempSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { modelToBytes, saveModel } from '../../src/io/save.ts';
import type { ComputedChunk } from '../../src/onnx/chunk.ts';
import { errorOf } from '../helpers/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'shrinkray-io-computed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A computed chunk of `bytes` that resolves after `delay` ms, writing itself to the file when `self` is set. */
function computed(bytes: Uint8Array, opts: { delay?: number; self?: boolean; fail?: string } = {}): ComputedChunk {
  return {
    length: bytes.byteLength,
    read: () => bytes,
    produce: async (into) => {
      await new Promise((r) => setTimeout(r, opts.delay ?? 0));
      if (opts.fail) throw new Error(opts.fail);
      if (!opts.self || !into) return bytes;
      writeSync(into.fd, bytes, 0, bytes.byteLength, into.position);
      return undefined;
    },
  };
}

/** Three initializers around two computed ones (the last computed first), inline or as external data. */
function model(make: (bytes: Uint8Array, i: number) => ComputedChunk): Model {
  const b = new GraphBuilder('computed');
  b.input('x', 'float32', [4]);
  let x = 'x';
  for (let i = 0; i < 5; i++) {
    const name = `t${i}`;
    const bytes = new Uint8Array(new Float32Array(4).fill(i + 1).buffer);
    const chunk: Uint8Array | ComputedChunk = i % 2 === 1 ? make(bytes, i) : bytes;
    b.graph.addInitializer(new Tensor(name, 'float32', [4], { kind: 'raw', chunk }));
    [x] = b.node('Add', [x, name]);
  }
  b.output(x, 'float32', [4]);
  return b.build();
}

describe('io: computed chunks', () => {
  it('io: computed payloads are written in place whether they return their bytes or write them, and whatever order they finish in', async () => {
    const expected = modelToBytes(model((bytes) => computed(bytes)));
    for (const self of [false, true]) {
      const path = join(root, `m-${self}.onnx`);
      await saveModel(model((bytes, i) => computed(bytes, { self, delay: i === 1 ? 20 : 0 })), path);
      expect(new Uint8Array(readFileSync(path))).toEqual(expected);
    }
    const ext = join(root, 'ext.onnx');
    await saveModel(model((bytes, i) => computed(bytes, { self: true, delay: i === 1 ? 20 : 0 })), ext, { externalData: true, externalThreshold: 0 });
    const back = readFileSync(`${ext}.data`);
    expect(new Float32Array(back.buffer, back.byteOffset + 64, 4)).toEqual(new Float32Array(4).fill(2)); // t1, 64-byte aligned
  });

  it('io: a computed payload that fails fails the save only after the others finished, leaving no file', async () => {
    const d = mkdtempSync(join(root, 'fail-'));
    let finished = 0;
    const m = model((bytes, i) => {
      const c = computed(bytes, { self: true, delay: i === 3 ? 30 : 0, fail: i === 1 ? 'boom' : undefined });
      return { ...c, produce: (into) => c.produce(into).finally(() => finished++) };
    });
    const err = await errorOf(saveModel(m, join(d, 'out.onnx')));
    expect(err.message).toBe('boom');
    expect(finished).toBe(2);
    expect(readdirSync(d)).toEqual([]);
  });
});
