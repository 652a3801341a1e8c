/**
 * Unusual models real exporters produce (issue 10, item 8): already quantized ones are
 * recognised and reported, never quantized twice; bool and integer inputs, sequence outputs
 * and inputs with an initializer default (optional overrides) do not break latency,
 * verification or quantization.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { ValueInfo } from '../../src/ir/value.ts';
import { saveModel } from '../../src/io/save.ts';
import { cli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-odd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const w = (n: number, seed = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed + i * 0.7));
const report = (out: string) => JSON.parse(out) as { notes: string[]; stages: Array<{ latency?: { batch1: { p50: number } } }> };

async function save(b: GraphBuilder, name: string): Promise<string> {
  const path = join(dir, `${name}.onnx`);
  await saveModel(b.build(), path);
  return path;
}

/** MatMul 32→32 whose output is also put in a sequence, a graph output of sequence type. */
async function sequenceOutput(): Promise<string> {
  const b = new GraphBuilder('seqout');
  const x = b.input('x', 'float32', ['N', 32]);
  const [y] = b.node('MatMul', [x, b.initializer('w', w(1024), [32, 32])], {}, { outputs: ['y'] });
  b.node('SequenceConstruct', [y!, x], {}, { outputs: ['s'] });
  b.output('y', 'float32', ['N', 32]);
  b.graph.outputs.push(new ValueInfo('s', undefined, { name: 's', type: { sequenceType: { elemType: { tensorType: { elemType: 1 } } } } }));
  return save(b, 'seqout');
}

/** A float input with a bool mask input and an int64 scalar input beside it. */
async function boolAndIntInputs(): Promise<string> {
  const b = new GraphBuilder('boolin');
  const x = b.input('x', 'float32', ['N', 32]);
  const flag = b.input('flag', 'bool', ['N', 32]);
  const k = b.input('k', 'int64', []);
  const [y] = b.node('MatMul', [x, b.initializer('w', w(1024), [32, 32])]);
  const [z] = b.node('Where', [flag, y!, x]);
  const [kf] = b.node('Cast', [k], { to: 1 });
  b.node('Add', [z!, kf!], {}, { outputs: ['out'] });
  b.output('out', 'float32', ['N', 32]);
  return save(b, 'boolin');
}

/** A weight that is also a graph input (its initializer is the default a caller may override). */
async function overridableWeight(): Promise<string> {
  const b = new GraphBuilder('optin');
  const x = b.input('x', 'float32', ['N', 32]);
  b.initializer('w', w(1024), [32, 32]);
  b.graph.inputs.push(new ValueInfo('w', { dtype: 'float32', shape: [32, 32] }));
  b.node('MatMul', [x, 'w'], {}, { outputs: ['y'] });
  b.output('y', 'float32', ['N', 32]);
  return save(b, 'optin');
}

/** ISNet-style dynamic int8 Conv (onnxruntime's quantize_dynamic): DynamicQuantizeLinear → ConvInteger → Cast → Mul. */
async function convInteger(): Promise<string> {
  const b = new GraphBuilder('convint');
  const x = b.input('x', 'float32', [1, 2, 6, 6]);
  const [xq, xs, xz] = b.node('DynamicQuantizeLinear', [x], {}, { outputs: ['xq', 'xs', 'xz'] });
  const wq = b.initializer('wq', Uint8Array.from({ length: 4 * 2 * 9 }, (_, i) => (i * 37) % 256), [4, 2, 3, 3]);
  const [acc] = b.node('ConvInteger', [xq!, wq, xz!, b.initializer('wz', Uint8Array.of(128), [])], {}, { name: 'conv_int' });
  const [f] = b.node('Cast', [acc!], { to: 1 });
  const [s] = b.node('Mul', [xs!, b.initializer('ws', Float32Array.of(0.01), [])]);
  b.node('Mul', [f!, s!], {}, { outputs: ['y'] });
  b.output('y', 'float32', [1, 4, 4, 4]);
  return save(b, 'convint');
}

let models: Record<string, string>;
beforeAll(async () => {
  models = { seqout: await sequenceOutput(), boolin: await boolAndIntInputs(), optin: await overridableWeight() };
});

describe('odd models', () => {
  it.each(['seqout', 'boolin', 'optin'])('odd models: %s passes cleanup, verify, dynamic int8 and latency', async (name) => {
    const path = models[name]!;
    for (const cmd of [['compress'], ['quantize', '--mode', 'dynamic']]) {
      const out = join(dir, `${name}-${cmd[0]}.out.onnx`);
      const r = await cli(...cmd, path, '-o', out, '--json', '--compressed-sizes', 'never');
      expect(r.code, `${name} ${cmd.join(' ')}: ${r.err}`).toBe(0);
      expect(existsSync(out)).toBe(true);
      const rep = report(r.out);
      expect(rep.stages.at(-1)!.latency!.batch1.p50, `${name} ${cmd.join(' ')}`).toBeGreaterThan(0);
      expect(rep.notes.filter((n) => n.startsWith('could not verify')), `${name} ${cmd.join(' ')}`).toEqual([]);
    }
  });

  it('odd models: an already quantized model is recognised by inspect and never quantized twice', async () => {
    const float = models.boolin!;
    const dynamic = join(dir, 'dynamic.onnx');
    const int4 = join(dir, 'int4.onnx');
    expect((await cli('quantize', float, '-o', dynamic, '--mode', 'dynamic', '--quiet', '--no-latency')).code).toBe(0);
    expect((await cli('quantize-int4', float, '-o', int4, '--quiet', '--no-latency')).code).toBe(0);
    const handmade = await convInteger();

    const seen = await cli('inspect', handmade);
    expect(seen.code, seen.err).toBe(0);
    expect(seen.out).toContain('  already quantized: DynamicQuantizeLinear 1, ConvInteger 1 (quantize leaves it as it is)\n');
    expect(JSON.parse((await cli('inspect', int4, '--json')).out).quantized).toEqual([{ op: 'com.microsoft:MatMulNBits', count: 1 }]);

    for (const [path, node] of [[dynamic, /node '?[^ ]+'? \((DynamicQuantizeLinear|MatMulInteger|DynamicQuantizeMatMul)\)|node DynamicQuantizeLinear/], [int4, /node .*MatMulNBits/], [handmade, /node .*DynamicQuantizeLinear/]] as const) {
      for (const mode of ['dynamic', 'static']) {
        const out = join(dir, 'twice.onnx');
        const r = await cli('quantize', path, '-o', out, '--mode', mode, '--calib', 'fixtures/data/mnist-calib.npz', '--quiet', '--no-latency');
        expect(r.code, `${path} ${mode}: ${r.err}`).toBe(2);
        expect(r.err).toMatch(/^shrinkray: pass 'quantize': quantize: the model is already quantized \(node .*\); it is not quantized twice\n$/);
        expect(r.err).toMatch(node);
        expect(existsSync(out)).toBe(false);
      }
    }
    const again = await cli('quantize-int4', int4, '-o', join(dir, 'int4-twice.onnx'), '--json', '--no-latency', '--compressed-sizes', 'never');
    expect(again.code, again.err).toBe(0);
    expect(report(again.out).notes.some((n) => /^int4: the model is already quantized \(node .*MatMulNBits.*\); nothing is quantized twice$/.test(n))).toBe(true);
  });
});
