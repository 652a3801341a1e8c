/**
 * Models with free dims beyond the batch (paddle2onnx's `p2o.DynamicDimension.1` on image
 * height and width, unnamed dims): every command still compresses them; latency, which needs
 * concrete shapes, is skipped with a note naming `--input-shape`/`--dim`, and measured once
 * they are given (issue 10, item 1).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Dim } from '../../src/ir/value.ts';
import { saveModel } from '../../src/io/save.ts';
import { cli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-shapes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Conv 3→8 (3×3) then global average pooling and a MatMul 8→4, on an input [batch, 3, h, w]. */
async function convModel(name: string, h: Dim, w: Dim): Promise<string> {
  const b = new GraphBuilder(name);
  const x = b.input('x', 'float32', ['batch', 3, h, w]);
  const wc = b.initializer('wc', Float32Array.from({ length: 8 * 3 * 9 }, (_, i) => Math.sin(i)), [8, 3, 3, 3]);
  const [c] = b.node('Conv', [x, wc], { pads: [1, 1, 1, 1] });
  const [p] = b.node('GlobalAveragePool', [c!]);
  const [f] = b.node('Flatten', [p!]);
  b.node('MatMul', [f!, b.initializer('wm', Float32Array.from({ length: 32 }, (_, i) => Math.cos(i)), [8, 4])], {}, { outputs: ['y'] });
  b.output('y', 'float32', ['batch', 4]);
  const path = join(dir, `${name}.onnx`);
  await saveModel(b.build(), path);
  return path;
}

let named: string;
let unnamed: string;
beforeAll(async () => {
  named = await convModel('named', 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2');
  unnamed = await convModel('unnamed', '', '');
});

const report = (out: string) => JSON.parse(out) as { notes: string[]; stages: Array<{ latency?: { batch1: { p50: number } } }> };
const namedNote = (path: string) => `latency not measured: ${path}: input "x" has symbolic dim "p2o.DynamicDimension.1" at axis 2; give its size with --input-shape x:1,3,N,N or --dim p2o.DynamicDimension.1=N`;

describe('input shapes', () => {
  it('input shapes: compress succeeds on free height/width, latency skipped with a note naming the flags', async () => {
    const out = join(dir, 'named-clean.onnx');
    const r = await cli('compress', named, '-o', out, '--json', '--compressed-sizes', 'never');
    expect(r.code, r.err).toBe(0);
    expect(existsSync(out)).toBe(true);
    const rep = report(r.out);
    expect(rep.notes).toContain(namedNote(named));
    expect(rep.notes.filter((n) => n.startsWith('latency not measured'))).toHaveLength(1);
    expect(rep.notes.some((n) => n.startsWith('could not verify the output on random inputs:') && n.includes('--input-shape x:1,3,N,N'))).toBe(true);
    expect(rep.stages.every((s) => s.latency === undefined)).toBe(true);
  });

  it('input shapes: an unnamed dim is sized by --input-shape only', async () => {
    const r = await cli('quantize', unnamed, '-o', join(dir, 'unnamed-q.onnx'), '--mode', 'dynamic', '--json', '--compressed-sizes', 'never');
    expect(r.code, r.err).toBe(0);
    expect(report(r.out).notes).toContain(`latency not measured: ${unnamed}: input "x" has an unnamed dynamic dim at axis 2; give its size with --input-shape x:1,3,N,N`);
    // A free dim does not stop compression, but the unchecked lossy result is not a silent success.
    expect(r.err).toBe(`warning: quality gate: the output could not be compared with ${unnamed} (${unnamed}: input "x" has an unnamed dynamic dim at axis 2; give its size with --input-shape x:1,3,N,N); it is unchecked\n`);
  });

  it('input shapes: --input-shape and --dim give latency and verification their sizes', async () => {
    for (const flags of [['--input-shape', 'x:1,3,16,12'], ['--dim', 'p2o.DynamicDimension.1=16', '--dim', 'p2o.DynamicDimension.2=12']]) {
      const r = await cli('compress', named, '-o', join(dir, 'named-sized.onnx'), '--json', '--compressed-sizes', 'never', ...flags);
      expect(r.code, r.err).toBe(0);
      const rep = report(r.out);
      expect(rep.notes.filter((n) => /latency not measured|could not verify/.test(n))).toEqual([]);
      expect(rep.stages[0]!.latency!.batch1.p50).toBeGreaterThan(0);
    }
  });

  it('input shapes: eval skips latency with the same note, and measures it with --input-shape', async () => {
    const skipped = await cli('eval', named, '--json', '--compressed-sizes', 'never');
    expect(skipped.code, skipped.err).toBe(0);
    expect(report(skipped.out).notes).toContain(namedNote(named));
    const sized = await cli('eval', unnamed, '--json', '--compressed-sizes', 'never', '--input-shape', 'x:1,3,8,8');
    expect(sized.code, sized.err).toBe(0);
    expect(report(sized.out).stages[0]!.latency!.batch1.p50).toBeGreaterThan(0);
  });

  it('input shapes: a shape (or an --input-value name) that does not fit the model is bad input, before anything is written', async () => {
    const out = join(dir, 'never.onnx');
    const cases: Array<[string[], string]> = [
      [['--input-shape', 'x:1,3,8'], `shrinkray: ${named}: --input-shape x:1,3,8 does not fit input "x" of shape [batch,3,p2o.DynamicDimension.1,p2o.DynamicDimension.2]\n`],
      [['--input-shape', 'x:1,4,8,8'], `shrinkray: ${named}: --input-shape x:1,4,8,8 does not fit input "x" of shape [batch,3,p2o.DynamicDimension.1,p2o.DynamicDimension.2]\n`],
      [['--input-shape', 'image:1,3,8,8'], `shrinkray: ${named}: --input-shape names 'image', which is not an input of the model (inputs: x)\n`],
      [['--input-value', 'sr=16000'], `shrinkray: --input-value sr: ${named} has no input of that name (inputs: x)\n`],
      [['--input-shape', 'x:1,3,0,8'], "shrinkray: --input-shape 'x:1,3,0,8' is not of the form NAME:D1,D2,… with positive integer sizes\n"],
      [['--dim', 'p2o.DynamicDimension.1'], "shrinkray: --dim 'p2o.DynamicDimension.1' is not of the form SYMBOL=VALUE with a positive integer value\n"],
    ];
    for (const [flags, message] of cases) {
      const r = await cli('compress', named, '-o', out, '--quiet', ...flags);
      expect(r.code).toBe(2);
      expect(r.err).toBe(message);
      expect(existsSync(out)).toBe(false);
    }
  });
});
