import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { nodeTimes, optimizedOps, profileModel } from '../../src/runtime/profile.ts';
import { randomFloats } from '../helpers/run-model.ts';

function convRelu() {
  const b = new GraphBuilder('cr', { opsets: { '': 17 } });
  b.input('x', 'float32', ['N', 3, 8, 8]);
  const [c] = b.node('Conv', ['x', b.initializer('w', randomFloats(4 * 27, 1), [4, 3, 3, 3])], { pads: [1, 1, 1, 1] }, { name: 'conv' });
  b.node('Relu', [c], {}, { name: 'relu', outputs: ['y'] });
  b.output('y', 'float32', ['N', 4, 8, 8]);
  return b.build();
}

describe('runtime: onnxruntime profile', () => {
  it('profile: per-node medians of kernel times, other events ignored', () => {
    const k = (name: string, dur: number, op = 'Conv') => ({ cat: 'Node', name: `${name}_kernel_time`, dur, args: { op_name: op } });
    const times = nodeTimes([k('a', 5), k('a', 100), k('a', 7), k('b', 3, 'Relu'), k('b', 5, 'Relu'), { cat: 'Node', name: 'a_fence_before', dur: 999 }, { cat: 'Session', name: 'model_run', dur: 50 }]);
    expect(times).toEqual([
      { name: 'a', op: 'Conv', us: 7 },
      { name: 'b', op: 'Relu', us: 4 },
    ]);
  });

  it('profile: a model run at batch 32 on one thread, what onnxruntime runs (Conv + Relu fused)', async () => {
    const m = convRelu();
    const p = await profileModel(m, { minRuns: 5, minMs: 0 });
    expect(p).toMatchObject({ batch: 32, threads: 1, runs: 5 });
    expect(p.nodes.length).toBeGreaterThan(0);
    expect(p.totalUs).toBe(p.nodes.reduce((s, n) => s + n.us, 0));
    const ops = await optimizedOps(m);
    expect(ops.get('Conv')).toBe(1); // the Relu fused into it (its NCHWc Conv)
    expect(ops.has('Relu')).toBe(false);
  });
});
