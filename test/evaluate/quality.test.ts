/**
 * The quality gate's SQNR: per sample for outputs with a signal per sample, pooled over samples
 * for outputs of one value per sample (a VAD's speech probability, a wake-word score).
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { measureQuality } from '../../src/evaluate/quality.ts';
import { memoryDataset } from '../quant/graphs.ts';

/** y = x + offset, x [N, width]: the candidate is off by `offset` everywhere. */
function shifted(width: number, offset: number): Uint8Array {
  const b = new GraphBuilder('shift', { opsets: { '': 17 } });
  b.input('x', 'float32', ['N', width]);
  b.node('Add', ['x', b.initializer('o', Float32Array.of(offset), [1])], {}, { outputs: ['y'] });
  b.output('y', 'float32', ['N', width]);
  return modelToBytes(b.build());
}

describe('quality: SQNR per sample, pooled for one value per sample', () => {
  it('quality: a probability per sample off by 0.002 reads its pooled SQNR (~44 dB), not the relative error of its quietest sample', async () => {
    // 64 probabilities from 0.001 (silence) to 1 (speech).
    const x = Float32Array.from({ length: 64 }, (_, i) => 0.001 + (i / 63) * 0.999);
    const source = { dataset: memoryDataset(x, [64, 1]), limit: 64, batchSize: 16 };
    const q = await measureQuality(shifted(1, 0), shifted(1, 0.002), source);
    expect(q.outputs[0]!.sqnrDb).toBeGreaterThan(40);
    expect(q.outputs[0]!.cosine).toBeGreaterThan(0.9999);
    // Two values per sample is a row with a signal of its own: the quiet rows count per sample.
    const pairs = Float32Array.from({ length: 128 }, (_, i) => 0.001 + (Math.floor(i / 2) / 63) * 0.999);
    const perSample = await measureQuality(shifted(2, 0), shifted(2, 0.002), { dataset: memoryDataset(pairs, [64, 2]), limit: 64, batchSize: 16 });
    expect(perSample.outputs[0]!.sqnrDb).toBeLessThan(20);
  });
});
