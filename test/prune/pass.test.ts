import { describe, expect, it } from 'vitest';
import { getPass, passes } from '../../passes/index.ts';
import { InputError } from '../../src/errors.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { parseLayerSparsity, parsePattern } from '../../src/prune/types.ts';
import { miniLenet, values } from './graphs.ts';

const prunePass = () => getPass('prune');
const zeroFraction = (v: number[]) => v.filter((x) => x === 0).length / v.length;

describe('prune pass', () => {
  it('prune: is registered as a prune-kind pass', () => {
    expect(passes.prune?.kind).toBe('prune');
    expect(Object.keys(prunePass().options)).toEqual(expect.arrayContaining(['sparsity', 'global', 'pattern', 'channels', 'skip', 'storage']));
  });

  it('prune: options as the CLI passes them (strings) reach pruneModel; sizes are always reported', async () => {
    const m = miniLenet();
    const notes: string[] = [];
    const result = await runPipeline(m, [{ pass: prunePass(), options: { sparsity: '0.5', layerSparsity: 'fc1=0.9', skip: 'last' } }], { onNote: (n) => notes.push(n) });
    const changes = result.stages[0]!.changes;
    expect(zeroFraction(values(m, 'fc1.weight'))).toBeCloseTo(0.9, 3);
    expect(zeroFraction(values(m, 'conv1.weight'))).toBeCloseTo(0.5, 1);
    expect(zeroFraction(values(m, 'fc2.weight'))).toBe(0);
    expect(changes).toMatchObject({ layersPruned: 3, channelsRemoved: 0 });
    expect(changes.gzipBytes).toBeGreaterThan(0);
    expect(changes.brotliBytes).toBeGreaterThan(0);
    expect(notes.join('\n')).toMatch(/fc2 0\.00 % \(skipped\)/);
  });

  it('prune: a polynomial schedule gives the sparsity of the current step', async () => {
    const m = miniLenet();
    await runPipeline(m, [{ pass: prunePass(), options: { sparsity: 0.8, schedule: 'polynomial', step: 5, steps: 10 } }]);
    expect(zeroFraction(values(m, 'fc1.weight'))).toBeCloseTo(0.8 * (1 - 0.125), 2);
  });

  it('prune: channels through the pass shrink the graph', async () => {
    const m = miniLenet();
    const result = await runPipeline(m, [{ pass: prunePass(), options: { channels: 0.5 } }]);
    expect(result.stages[0]!.changes.channelsRemoved).toBe(13);
    expect(result.stages[0]!.changes.paramsAfter).toBeLessThan(result.stages[0]!.changes.paramsBefore! / 2);
  });

  it('prune: bad pattern and layer lists are input errors', () => {
    expect(parsePattern('2:4')).toEqual({ n: 2, m: 4 });
    expect(() => parsePattern('4:2')).toThrow(InputError);
    expect(() => parsePattern('2-4')).toThrow(/N:M/);
    expect(parseLayerSparsity(['a=0.5,b.c=0.25'])).toEqual({ a: 0.5, 'b.c': 0.25 });
    expect(() => parseLayerSparsity(['a=2'])).toThrow(/<node name>=<fraction/);
  });
});
