import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNpz } from '../../src/data/npz.ts';
import { InputError } from '../../src/errors.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { encodedSize } from '../../src/io/save.ts';
import { getPass } from '../../passes/index.ts';
import { randomFloats } from '../helpers/run-model.ts';
import { convNet } from './graphs.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-quant-pass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function npz(name: string, n: number, labels = false): Promise<string> {
  const path = join(dir, name);
  const x = randomFloats(n * 3 * 8 * 8, n);
  await writeNpz(path, { x: { dtype: 'float32', shape: [n, 3, 8, 8], data: x }, ...(labels && { y: { dtype: 'int64', shape: [n], data: new BigInt64Array(n) } }) });
  return path;
}

describe('quantize: the pass', () => {
  it('quantize: runs from string options as the CLI passes them, and notes what stayed float', async () => {
    const calib = await npz('calib.npz', 48);
    const model = await loadModel(modelToBytes(convNet()));
    const inputBytes = encodedSize(model);
    const notes: string[] = [];
    const r = await runPipeline(model, [{ pass: getPass('quantize'), options: { calib, calibSamples: '32', format: 'qoperator', excludeNodes: 'fc', debugLayers: 'true', minConvInputChannels: '0', target: 'size' } }], {
      onNote: (m) => notes.push(m),
    });
    expect(r.stages[0]!.changes).toEqual({ nodesQuantized: 5, weightsQuantized: 2, keptFloat: 2 });
    expect(notes).toContain('kept add (Add) in float: no input comes from a quantized layer');
    expect(notes).toContain('kept fc (Gemm) in float: excluded by excludeNodes');
    expect(notes.filter((n) => n.startsWith('debug: '))).toHaveLength(2); // conv1, conv2
    expect(model.graph.nodes.map((n) => n.opType)).toContain('QLinearConv');
    expect(r.stages[0]!.bytes).toBeLessThan(inputBytes);
  });

  it('quantize: a recipe file and the fallback options reach the quantizer', async () => {
    const calib = await npz('calib2.npz', 32);
    const evalData = await npz('eval.npz', 32, true);
    const recipe = join(dir, 'recipe.json');
    writeFileSync(recipe, JSON.stringify({ layers: { conv1: 'float' } }));
    const model = await loadModel(modelToBytes(convNet()));
    const notes: string[] = [];
    const r = await runPipeline(model, [{ pass: getPass('quantize'), options: { calib, recipe, maxAccuracyDrop: '100', evalData, target: 'size' } }], { onNote: (m) => notes.push(m) });
    expect(r.stages[0]!.changes).toMatchObject({ keptFloat: 1, returnedToFloat: 0 });
    expect(notes).toContain('kept conv1 (Conv) in float: float in the recipe');
    expect(notes.some((n) => /^fallback: accuracy float [\d.]+ %, all-int8 [\d.]+ %, final [\d.]+ % \(drop -?[\d.]+ pt, budget 100 pt\)$/.test(n))).toBe(true);
    await expect(runPipeline(await loadModel(modelToBytes(convNet())), [{ pass: getPass('quantize'), options: { calib, maxAccuracyDrop: '1' } }])).rejects.toThrow(InputError);
    writeFileSync(recipe, '{"conv1": "float"}');
    await expect(runPipeline(await loadModel(modelToBytes(convNet())), [{ pass: getPass('quantize'), options: { calib, recipe } }])).rejects.toThrow(/a recipe is/);
  });
});

describe('quantize pass notes', () => {
  it('nodes kept in float for one reason (details aside) shared by more than five get one note with the count by op type and every name', async () => {
    const { keptFloatNotes } = await import('../../passes/quantize.ts');
    const many = Array.from({ length: 7 }, (_, i) => ({ node: `add${i}`, opType: i < 5 ? 'Add' : 'Mul', reason: 'no input comes from a quantized layer' }));
    const ranked = Array.from({ length: 6 }, (_, i) => ({ node: `conv${i}`, opType: 'Conv', reason: `returned to float by fallback: sensitivity rank ${i + 1} (output SQNR 9.${i} dB with only it quantized)` }));
    const notes = keptFloatNotes([...many, { node: 'fc', opType: 'Gemm', reason: 'excluded by excludeNodes' }, ...ranked]);
    expect(notes).toEqual([
      'kept 7 nodes in float: no input comes from a quantized layer (Add ×5, Mul ×2: add0, add1, add2, add3, add4, add5, add6)',
      'kept fc (Gemm) in float: excluded by excludeNodes',
      'kept 6 nodes in float: returned to float by fallback (Conv ×6: conv0, conv1, conv2, conv3, conv4, conv5)',
    ]);
  });
});
