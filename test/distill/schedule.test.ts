/** distill helpers: learning-rate schedules and the order-preserving channel matching of hint losses. */
import { describe, expect, it } from 'vitest';
import { monotoneMatch } from '../../src/distill/hints.ts';
import { learningRateAt } from '../../src/distill/schedule.ts';

describe('distill helpers', () => {
  it('schedule: cosine starts at the peak, halves midway and ends near 0; step decays per stepEpochs', () => {
    const cosine = { schedule: 'cosine' as const, learningRate: 0.01, totalSteps: 100, stepsPerEpoch: 20 };
    expect(learningRateAt(cosine, 0)).toBeCloseTo(0.01, 12);
    expect(learningRateAt(cosine, 50)).toBeCloseTo(0.005, 12);
    expect(learningRateAt(cosine, 99)).toBeLessThan(1e-5);
    const step = { schedule: 'step' as const, learningRate: 0.1, totalSteps: 100, stepsPerEpoch: 20, stepEpochs: 2, gamma: 0.5 };
    expect([0, 39, 40, 79, 80].map((s) => learningRateAt(step, s))).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
    expect(learningRateAt({ ...cosine, schedule: 'constant' }, 77)).toBe(0.01);
  });

  it('schedule: a warm-up ramps linearly to the peak, then the cosine runs over the remaining steps', () => {
    const warm = { schedule: 'cosine' as const, learningRate: 0.01, totalSteps: 110, stepsPerEpoch: 20, warmupSteps: 10 };
    expect([0, 4, 9].map((s) => learningRateAt(warm, s))).toEqual([0.001, 0.005, 0.01]);
    expect(learningRateAt(warm, 10)).toBeCloseTo(0.01, 12);
    expect(learningRateAt(warm, 60)).toBeCloseTo(0.005, 12);
    expect(learningRateAt(warm, 109)).toBeLessThan(1e-5);
  });

  it('hints: the matching keeps channel order and maximises the summed correlation', () => {
    // Student channels 0,1,2 came from teacher channels 1,2,4 of 5; channel 1 also resembles teacher 3.
    const corr = [
      [0.1, 0.9, 0.2, 0.1, 0.0],
      [0.0, 0.2, 0.95, 0.96, 0.1],
      [0.1, 0.0, 0.1, 0.3, 0.99],
    ];
    expect(monotoneMatch(corr, 5)).toEqual([1, 3, 4]);
    // Order forces a trade-off: the best single picks (2, 2) collide.
    expect(monotoneMatch([[0.1, 0.5, 0.9], [0.1, 0.4, 0.95]], 3)).toEqual([1, 2]);
  });
});
