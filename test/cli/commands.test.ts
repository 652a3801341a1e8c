import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { loadModel } from '../../src/io/load.ts';
import { saveModel } from '../../src/io/save.ts';
import { randomFloats } from '../helpers/run-model.ts';
import { cli } from '../helpers/cli.ts';


let dir: string;
let model: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shrinkray-cli-'));
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', ['N', 8]);
  const [h] = b.node('MatMul', [x, b.initializer('w1', randomFloats(64, 1), [8, 8])], {}, { name: 'fc1' });
  const [i] = b.node('Identity', [h]);
  const [y] = b.node('Relu', [i]);
  b.output(y, 'float32', ['N', 8]);
  model = join(dir, 'mlp.onnx');
  await saveModel(b.build(), model);
});

describe('cli commands', () => {
  it('cli: inspect --json reports parameters and ops', async () => {
    const r = await cli('inspect', model, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.params).toBe(64);
    expect(s.opTypes.map((o: { op: string }) => o.op).sort()).toEqual(['Identity', 'MatMul', 'Relu']);
    expect(s.layers[0]).toMatchObject({ node: 'fc1', op: 'MatMul', params: 64 });
  });

  it('cli: compress runs cleanup and writes a loadable model', async () => {
    const out = join(dir, 'out.onnx');
    const r = await cli('compress', model, '-o', out, '--json', '--no-latency');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.stages.map((s: { name: string }) => s.name)).toEqual(['input', 'cleanup', 'output']);
    expect(report.notes[0]).toMatch(/cleanup: identitiesRemoved 1/);
    expect((await loadModel(out)).graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Relu']);
  });

  it('cli: sizes in the report count external data files, of the input and of the output', async () => {
    const b = new GraphBuilder('wide');
    const x = b.input('x', 'float32', ['N', 64]);
    const [y] = b.node('MatMul', [x, b.initializer('w', randomFloats(64 * 64, 3), [64, 64])]);
    b.output(y, 'float32', ['N', 64]);
    const ext = join(dir, 'ext.onnx');
    await saveModel(b.build(), ext, { externalData: true });
    const out = join(dir, 'ext-out.onnx');
    const r = await cli('compress', ext, '-o', out, '--external-data', '--json', '--no-latency');
    expect(r.code, r.err).toBe(0);
    const stages = JSON.parse(r.out).stages;
    const onDisk = (f: string) => statSync(f).size + statSync(`${f}.data`).size;
    expect([statSync(`${ext}.data`).size, statSync(`${out}.data`).size]).toEqual([16384, 16384]);
    expect([stages[0].sizeBytes, stages.at(-1).sizeBytes]).toEqual([onDisk(ext), onDisk(out)]);
  });

  it('cli: refuses to overwrite the input and leaves no temp files', async () => {
    const r = await cli('compress', model, '-o', model);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/refusing to overwrite/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('cli: garbage, truncated and missing files exit 2 with one line naming the file', async () => {
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, Buffer.from('this is not a model at all\n'));
    const truncated = join(dir, 'truncated.onnx');
    const { readFileSync } = await import('node:fs');
    writeFileSync(truncated, readFileSync(model).subarray(0, 40));
    for (const f of [garbage, truncated, join(dir, 'missing.onnx')]) {
      const r = await cli('inspect', f);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toContain(f);
      expect(r.err).not.toMatch(/at .*\.ts:\d+/);
    }
  });

  it('cli: bad pass options exit 2 naming the pass and option', async () => {
    const r = await cli('compress', model, '-o', join(dir, 'x.onnx'), '--set', 'cleanup.fold=maybe');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/pass 'cleanup': option 'fold'/);
  });

  it('cli: the bin script runs and exits with the command code', async () => {
    const run = promisify(execFile);
    const ok = await run(process.execPath, ['bin/shrinkray.js', 'inspect', model, '--json']);
    expect(JSON.parse(ok.stdout).params).toBe(64);
    const bad = await run(process.execPath, ['bin/shrinkray.js', 'inspect', join(dir, 'nope.onnx')]).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^shrinkray: .*no such file/);
  });
});

describe('cli input validation', () => {
  it('cli: NaN weights and dangling inputs are refused naming the tensor or node', async () => {
    const b = new GraphBuilder('nan');
    const x = b.input('x', 'float32', ['N', 2]);
    const [y] = b.node('MatMul', [x, b.initializer('bad_weight', Float32Array.of(1, NaN, 0, 1), [2, 2])]);
    b.output(y, 'float32', ['N', 2]);
    const nanModel = join(dir, 'nan.onnx');
    await saveModel(b.build(), nanModel);
    const r = await cli('compress', nanModel, '-o', join(dir, 'nan.out.onnx'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/tensor 'bad_weight' contains NaN at index 1/);

    const d = new GraphBuilder('dangling');
    const dx = d.input('x', 'float32', ['N', 2]);
    const [dy] = d.node('Add', [dx, 'ghost'], {}, { name: 'adder' });
    d.output(dy, 'float32', ['N', 2]);
    const dangling = join(dir, 'dangling.onnx');
    await saveModel(d.build(), dangling);
    const r2 = await cli('compress', dangling, '-o', join(dir, 'dangling.out.onnx'));
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/node 'adder' \(Add\) reads 'ghost', which nothing defines/);
  });
});
