import { describe, expect, it, vi } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { compareOnRandomInputs } from '../../src/runtime/verify.ts';

/** Sessions open at once, highest seen: every session the comparison opens is counted. */
const open = vi.hoisted(() => ({ now: 0, most: 0 }));
vi.mock('../../src/runtime/ort.ts', async (original) => {
  const ort = await original<typeof import('../../src/runtime/ort.ts')>();
  return {
    ...ort,
    createSession: async (...args: Parameters<typeof ort.createSession>) => {
      const session = await ort.createSession(...args);
      open.most = Math.max(open.most, ++open.now);
      const close = session.close.bind(session);
      session.close = async () => {
        open.now--;
        await close();
      };
      return session;
    },
  };
});

describe('verify sessions', () => {
  it('verify: the input model runs and closes before the output model opens (never two large sessions at once)', async () => {
    const build = (op: string) => {
      const b = new GraphBuilder(op, { opsets: { '': 17 } });
      b.output(b.node(op, [b.input('x', 'float32', ['N', 4])])[0]!, 'float32', ['N', 4]);
      return modelToBytes(b.build());
    };
    const [d] = await compareOnRandomInputs(build('Relu'), build('Neg'));
    expect(d!.maxAbsDiff).toBeGreaterThan(0);
    expect(open).toEqual({ now: 0, most: 1 });
  });
});
