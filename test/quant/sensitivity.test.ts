import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { smallestPassingPrefix } from '../../src/quant/int8/fallback.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { rankSensitivity } from '../../src/quant/int8/sensitivity.ts';
import type { Variant } from '../../src/quant/int8/variants.ts';
import { randomFloats } from '../helpers/run-model.ts';
import { calibrationWithOutlier, memoryDataset } from './graphs.ts';

const LAYERS = 12;

/** x[16] → (MatMul → Relu) × LAYERS → y. Feature 3 of x is unused by mm1 (zero weights). */
function chain(): Model {
  const b = new GraphBuilder('chain');
  b.input('x', 'float32', ['N', 16]);
  let h = 'x';
  for (let i = 1; i <= LAYERS; i++) {
    // Scaled so the signal neither dies nor explodes along the chain.
    const w = randomFloats(16 * 16, i).map((v) => v * 0.6);
    if (i === 1) w.fill(0, 3 * 16, 4 * 16);
    const last = i === LAYERS;
    const [m] = b.node('MatMul', [h, b.initializer(`w${i}`, w, [16, 16])], {}, { name: `mm${i}`, ...(last && { outputs: ['y'] }) });
    h = last ? m! : b.node('Relu', [m!], {}, { name: `relu${i}` })[0]!;
  }
  b.output('y', 'float32', ['N', 16]);
  return b.build();
}

describe('quantize: sensitivity ranking', () => {
  it('sensitivity: added — one run ranks by added error, and the layer that adds it goes float', async () => {
    const model = chain();
    const notes: string[] = [];
    const result = await quantizeModel(model, { calibration: 'minmax', target: 'size', minSqnr: 20, sensitivity: 'added' }, { calibration: calibrationWithOutlier(), note: (m) => notes.push(m) });
    const fb = result.fallback!;
    expect(fb.sensitivity).toHaveLength(LAYERS);
    expect(new Set(fb.sensitivity.map((s) => s.method))).toEqual(new Set(['added']));
    // Every later layer's output carries mm1's error too: ranked by output error alone they would tie with it.
    expect(fb.sensitivity[0]!.node).toBe('mm1');
    expect(fb.sensitivity[0]!.sqnrDb).toBeLessThan(fb.sensitivity[1]!.sqnrDb - 10);
    expect(fb.keptFloat).toEqual(['mm1']);
    expect(fb.quantizedAccuracy).toBeLessThan(20);
    expect(fb.finalAccuracy).toBeGreaterThanOrEqual(20);
    expect(result.quantized).toContain(`mm${LAYERS}`);
    expect(notes).toContainEqual(expect.stringMatching(/^fallback: kept mm1 \(MatMul\) in float, sensitivity rank 1 \(adds noise at -?\d+\.\d dB below its output/));
  });

  it('sensitivity: auto on a small model ranks alone (one run per layer), and the same layer comes first', async () => {
    const result = await quantizeModel(chain(), { calibration: 'minmax', target: 'size', minSqnr: 20 }, { calibration: calibrationWithOutlier() });
    const fb = result.fallback!;
    expect(new Set(fb.sensitivity.map((s) => s.method))).toEqual(new Set(['alone']));
    expect(fb.sensitivity[0]!.node).toBe('mm1');
    expect(fb.keptFloat).toEqual(['mm1']);
  });

  it('sensitivity: auto ranks by added error when ranking alone would take longer than its budget', async () => {
    const model = chain();
    const layers = model.graph.nodes.filter((n) => n.opType === 'MatMul');
    // The float model stands for every variant: each layer's output compared with itself.
    const same: Variant = { model, quantized: layers, skipped: new Map(), weights: 0, probes: layers.map((node) => ({ node, tensor: node.outputs[0]!, fetch: { name: node.outputs[0]!, dtype: 'float32' } })) };
    let builds = 0;
    const builder = { layers, build: async () => (builds++, same) };
    const source = memoryDataset(randomFloats(8 * 16, 3), [8, 16]);
    const args = { floatModel: model, builder, initial: same, source: { dataset: source, limit: 8, batchSize: 4 } };
    const slow = await rankSensitivity({ ...args, aloneMaxSeconds: 0 });
    expect(new Set(slow.map((s) => s.method))).toEqual(new Set(['added']));
    expect(builds).toBe(0);
    const fast = await rankSensitivity({ ...args, aloneMaxSeconds: 600 });
    expect(new Set(fast.map((s) => s.method))).toEqual(new Set(['alone']));
    expect(builds).toBe(LAYERS);
  });
});

describe('quantize: fallback steps', () => {
  const search = async (most: number, need: number) => {
    const asked: number[] = [];
    const k = await smallestPassingPrefix(most, async (n) => {
      asked.push(n);
      return n >= need;
    });
    return { k, asked };
  };

  it('fallback steps: the smallest passing prefix in O(log n) evaluations', async () => {
    for (const [most, need] of [[1, 1], [2, 2], [39, 13], [39, 1], [39, 39], [150, 77], [1000, 3]] as const) {
      const { k, asked } = await search(most, need);
      expect(k, `most ${most}, need ${need}`).toBe(need);
      expect(asked.length).toBeLessThanOrEqual(Math.ceil(Math.log2(most)) + 1 + Math.ceil(Math.log2(need)));
      expect(new Set(asked).size).toBe(asked.length); // nothing evaluated twice
    }
    expect((await search(150, 77)).asked).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 96, 80, 72, 76, 78, 77]);
  });

  it('fallback steps: a budget no prefix meets gives undefined after trying the longest', async () => {
    const { k, asked } = await search(39, 40);
    expect(k).toBeUndefined();
    expect(asked).toEqual([1, 2, 4, 8, 16, 32, 39]);
    expect((await search(0, 1)).asked).toEqual([]);
  });
});
