import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnx from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes, saveModel } from '../../src/io/save.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-io-ort-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BATCH = 3;
const IN = 5;
const OUT = 4;

/** Test-local LCG in [-1, 1), independent of the code under test. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1);
}

const W = values(IN * OUT, 11);
const B = values(OUT, 12);
const X = values(BATCH * IN, 13);

/** relu(x · W + B) in float64 from the float32 weights. */
function reference(): Float64Array {
  const y = new Float64Array(BATCH * OUT);
  for (let r = 0; r < BATCH; r++) {
    for (let c = 0; c < OUT; c++) {
      let s = B[c]!;
      for (let k = 0; k < IN; k++) s += X[r * IN + k]! * W[k * OUT + c]!;
      y[r * OUT + c] = Math.max(0, s);
    }
  }
  return y;
}

function buildModel() {
  const b = new GraphBuilder('mlp');
  b.input('x', 'float32', ['N', IN]);
  b.initializer('W', W, [IN, OUT]);
  b.initializer('B', B, [OUT]);
  const [h] = b.node('MatMul', ['x', 'W']);
  const [z] = b.node('Add', [h!, 'B']);
  b.node('Relu', [z!], {}, { outputs: ['y'] });
  b.output('y', 'float32', ['N', OUT]);
  return b.build();
}

async function run(model: string | Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model as string);
  const out = await session.run({ x: new ort.Tensor('float32', X, [BATCH, IN]) });
  await session.release();
  return out.y!.data as Float32Array;
}

function expectClose(got: Float32Array, want: Float64Array): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `element ${i}`).toBeLessThan(1e-5);
}

describe('io: models run in onnxruntime', () => {
  it('io: a GraphBuilder model (MatMul + Add + Relu) saved to disk runs in onnxruntime with the float64 reference result', async () => {
    const path = join(dir, 'mlp.onnx');
    await saveModel(buildModel(), path);
    const want = reference();
    expect(want.some((v) => v === 0) && want.some((v) => v > 0)).toBe(true); // Relu actually clips something
    expectClose(await run(path), want);
    // onnx-proto reads what we wrote as a well-formed model.
    const proto = onnx.onnx.ModelProto.decode(readFileSync(path));
    expect(proto.graph!.node!.map((n) => n.opType)).toEqual(['MatMul', 'Add', 'Relu']);
    expect(Number(proto.opsetImport![0]!.version)).toBe(17);
  });

  it('io: the same model from modelToBytes, with external data, and after a load/save cycle gives the same outputs', async () => {
    const want = reference();
    expectClose(await run(modelToBytes(buildModel())), want);
    const ext = join(dir, 'mlp-ext.onnx');
    await saveModel(buildModel(), ext, { externalData: true, externalThreshold: 0 });
    expectClose(await run(ext), want);
    const again = join(dir, 'mlp-again.onnx');
    await saveModel(await loadModel(ext), again);
    expectClose(await run(again), want);
  });
});
