import { describe, expect, it } from 'vitest';
import { compareOutput } from '../../src/check/compare-outputs.ts';
import { planRandomFeeds } from '../../src/check/input-roles.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { Model } from '../../src/ir/model.ts';

function model(build: (b: GraphBuilder) => void): Model {
  const b = new GraphBuilder('g');
  build(b);
  return new Model(b.graph, new Map([['', 17]]), 8);
}

describe('check: random inputs valid for their role', () => {
  it('check: token ids index their embedding table; bools, floats and int8 get their own ranges', () => {
    const m = model((b) => {
      const ids = b.input('ids', 'int64', ['N', 4]);
      const x = b.input('x', 'float32', ['N', 4, 8]);
      const mask = b.input('mask', 'bool', ['N', 4]);
      const q = b.input('q', 'int8', ['N', 4]);
      b.initializer('table', new Float32Array(10 * 8), [10, 8]);
      const [e] = b.node('Gather', ['table', ids], { axis: 0 });
      const [s] = b.node('Add', [e!, x]);
      const [w] = b.node('Where', [mask, s!, x]);
      b.output(w!, 'float32', ['N', 4, 8]);
      b.output(q, 'int8', ['N', 4]);
    });
    const plan = planRandomFeeds(m);
    expect('inputs' in plan && Object.fromEntries(plan.inputs.map((p) => [p.name, p.role]))).toEqual({
      ids: { kind: 'index', bound: 10 },
      x: { kind: 'real', min: -1, max: 1 },
      mask: { kind: 'bool' },
      q: { kind: 'integer', min: -128, max: 127 },
    });
  });

  it('check: an integer divisor never draws 0 (onnxruntime fails on it); the dividend keeps its range', () => {
    const m = model((b) => {
      const [a, d] = [b.input('a', 'uint8', ['N', 4]), b.input('d', 'int8', ['N', 4])];
      const [q] = b.node('Div', [a, b.node('Cast', [d], { to: 2 })[0]!]);
      b.output(b.node('Mod', [a, b.input('m', 'int32', ['N', 4])])[0]!, 'int32', ['N', 4]);
      b.output(q!, 'uint8', ['N', 4]);
    });
    const plan = planRandomFeeds(m);
    expect('inputs' in plan && Object.fromEntries(plan.inputs.map((p) => [p.name, p.role]))).toEqual({
      a: { kind: 'integer', min: 0, max: 255 },
      d: { kind: 'integer', min: -128, max: 127 }, // read by Cast, not by the Div
      m: { kind: 'integer', min: 1, max: 1 },
    });
  });

  it('check: an input that sets a shape makes the model unverifiable on random inputs, naming it', () => {
    const m = model((b) => {
      const x = b.input('x', 'float32', [2, 3]);
      const shape = b.input('shape', 'int64', [2]);
      const [y] = b.node('Reshape', [x, shape], {}, { name: 'reshape' });
      b.output(y!, 'float32', [3, 2]);
    });
    expect(planRandomFeeds(m)).toEqual({ unverifiable: "input 'shape' sets a shape or axes of node 'reshape' (Reshape); random values cannot stand for it" });
  });
});

describe('check: comparing outputs', () => {
  it('check: NaN equals NaN and an infinity the same infinity; a NaN against a number does not', () => {
    expect(compareOutput('y', [NaN, Infinity, 1], [NaN, Infinity, 1]).equal).toBe(true);
    const r = compareOutput('y', [NaN, -Infinity, 1], [0, Infinity, 1]);
    expect(r.equal).toBe(false);
    expect(r.mismatchedSpecials).toBe(2);
  });

  it('check: floats within tolerance relative to the magnitude; bigints, strings and lengths exactly', () => {
    expect(compareOutput('y', [1000, 2], [1000.05, 2]).equal).toBe(true);
    expect(compareOutput('y', [1, 2], [1.01, 2]).equal).toBe(false);
    expect(compareOutput('y', BigInt64Array.of(1n, 2n), BigInt64Array.of(1n, 3n)).equal).toBe(false);
    expect(compareOutput('y', ['a'], ['b']).equal).toBe(false);
    expect(compareOutput('y', [1], [1, 2])).toMatchObject({ equal: false, maxAbsDiff: Infinity });
  });
});
