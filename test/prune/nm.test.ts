/**
 * N:M invariants checked by code written here from the ONNX definitions of Conv
 * (W[out, in, kh, kw]), Gemm (B[K, N], or [N, K] with transB) and MatMul (B[K, N]) — not from
 * the pruning code's own layout helpers.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { pruneModel } from '../../src/prune/prune.ts';
import { runModel } from '../helpers/run-model.ts';
import { conv, copyOf, input, relu, values, w } from './graphs.ts';

/** Weight element (output o, input channel i, kernel offset s) of each layer kind. */
type At = (o: number, i: number, s: number) => number;

/**
 * For every output and kernel position, counts the non-zeros in each run of `m` consecutive
 * input channels; returns the largest count, and whether each run kept its largest |w|.
 */
function scanGroups(get: At, before: At, outs: number, ins: number, spatial: number, m: number) {
  let worst = 0;
  let keptLargest = true;
  for (let o = 0; o < outs; o++) {
    for (let s = 0; s < spatial; s++) {
      for (let start = 0; start < ins; start += m) {
        let nz = 0;
        let best = -1;
        let bestAbs = -1;
        for (let i = start; i < Math.min(start + m, ins); i++) {
          if (get(o, i, s) !== 0) nz++;
          if (Math.abs(before(o, i, s)) > bestAbs) {
            bestAbs = Math.abs(before(o, i, s));
            best = i;
          }
        }
        worst = Math.max(worst, nz);
        if (get(o, best, s) === 0 && bestAbs > 0) keptLargest = false;
      }
    }
  }
  return { worst, keptLargest };
}

function model(): Model {
  const b = new GraphBuilder('nm');
  const x = b.input('x', 'float32', ['N', 8, 5, 5]);
  let h = relu(b, conv(b, 'conv1', x, 8, 12));
  h = b.node('GlobalAveragePool', [h])[0]!;
  h = b.node('Flatten', [h])[0]!;
  h = relu(b, b.node('Gemm', [h, w(b, 'fcT.weight', [16, 12])], { transB: 1 }, { name: 'fcT' })[0]!);
  h = relu(b, b.node('Gemm', [h, w(b, 'fc.weight', [16, 10])], {}, { name: 'fc' })[0]!);
  b.node('MatMul', [h, w(b, 'mm.weight', [10, 6])], {}, { name: 'mm', outputs: ['out'] });
  b.output('out', 'float32', ['N', 6]);
  return b.build();
}

describe('prune N:M', () => {
  for (const [n, m] of [[2, 4], [1, 4], [2, 8]] as const) {
    it(`prune: ${n}:${m} leaves at most ${n} non-zeros in every ${m} input channels of Conv, Gemm (both layouts) and MatMul`, async () => {
      const m0 = model();
      const m1 = await copyOf(m0);
      const r = await pruneModel(m1, { pattern: { n, m } });
      const conv1 = [values(m0, 'conv1.weight'), values(m1, 'conv1.weight')].map((v): At => (o, i, s) => v[(o * 8 + i) * 9 + s]!);
      const fcT = [values(m0, 'fcT.weight'), values(m1, 'fcT.weight')].map((v): At => (o, i) => v[o * 12 + i]!);
      const fc = [values(m0, 'fc.weight'), values(m1, 'fc.weight')].map((v): At => (o, i) => v[i * 10 + o]!);
      const mm = [values(m0, 'mm.weight'), values(m1, 'mm.weight')].map((v): At => (o, i) => v[i * 6 + o]!);
      for (const [[before, after], outs, ins, spatial] of [[conv1, 12, 8, 9], [fcT, 16, 12, 1], [fc, 10, 16, 1], [mm, 6, 10, 1]] as const) {
        const { worst, keptLargest } = scanGroups(after!, before!, outs, ins, spatial, m);
        expect(worst).toBe(n);
        expect(keptLargest).toBe(true);
      }
      // conv1, fcT, fc have input counts that are multiples of m for m = 4 → exactly 1 − n/m zero.
      if (m === 4) expect(values(m1, 'fcT.weight').filter((v) => v === 0).length).toBe(16 * 12 * (1 - n / m));
      expect(r.requested).toBe(1 - n / m);
      expect(Object.values(await runModel(m1, input([2, 8, 5, 5])))[0]).toHaveLength(12);
    });
  }

  it('prune: layers whose input count is not a multiple of M are noted', async () => {
    const r = await pruneModel(model(), { pattern: { n: 2, m: 4 } });
    expect(r.notes.join()).toMatch(/2:4: mm has input channels not a multiple of 4/);
  });
});
