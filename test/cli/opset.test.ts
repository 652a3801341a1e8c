import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { loadModel } from '../../src/io/load.ts';
import { saveModel } from '../../src/io/save.ts';
import { cli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-opset-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An opset-9 model: Slice with attributes, Softmax on axis 1 of a 3-D tensor. */
async function opset9(): Promise<string> {
  const b = new GraphBuilder('old', { opsets: { '': 9 }, irVersion: 4 });
  const x = b.input('x', 'float32', ['N', 4, 6]);
  const [s] = b.node('Slice', [x], { starts: [1], ends: [5], axes: [2] });
  const [y] = b.node('Softmax', [s], { axis: 1 });
  b.output(y, 'float32', ['N', 4, 4]);
  const path = join(dir, 'old.onnx');
  await saveModel(b.build(), path);
  return path;
}

describe('cli: opset', () => {
  it('cli: `shrinkray opset --target` and `compress --passes cleanup,opset --set opset.target=` convert, verify and say so', async () => {
    const input = await opset9();
    const out = join(dir, 'op13.onnx');
    const r = await cli('opset', input, '-o', out, '--target', '13', '--json', '--no-latency');
    expect(r.code, r.err).toBe(0);
    expect((await loadModel(out)).opset()).toBe(13);
    expect(JSON.parse(r.out).notes).toContain('opset 9 → 13: upgraded (1× Slice starts/ends/axes → inputs, 1× Softmax axis made a single axis)');

    const out2 = join(dir, 'op11.onnx');
    const c = await cli('compress', input, '-o', out2, '--passes', 'cleanup,opset', '--set', 'opset.target=11', '--json', '--no-latency');
    expect(c.code, c.err).toBe(0);
    expect((await loadModel(out2)).opset()).toBe(11);
  });

  it('cli: a model the converter cannot take is exit 2, one line, no output file', async () => {
    const b = new GraphBuilder('bn', { opsets: { '': 8 }, irVersion: 3 });
    const x = b.input('x', 'float32', [2, 3]);
    const p = (n: string) => b.initializer(n, Float32Array.of(1, 1, 1), [3]);
    b.output(b.node('BatchNormalization', [x, p('g'), p('b'), p('m'), p('v')], { spatial: 0 }, { name: 'bn' })[0]!, 'float32', [2, 3]);
    const input = join(dir, 'bn.onnx');
    await saveModel(b.build(), input);
    const out = join(dir, 'bn13.onnx');
    const r = await cli('opset', input, '-o', out, '--target', '13', '--no-latency');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toEqual(["shrinkray: pass 'opset': cannot convert 'bn' (BatchNormalization) from opset 8 to 9: spatial=0 (statistics per activation) has no spelling from opset 9 on"]);
    expect(existsSync(out)).toBe(false);
  });
});
