/**
 * quantize-int4 on the transformer fixture: MatMul weights to ≤ 0.16× of fp32 (scales
 * counted), and GPTQ no worse than round-to-nearest on the held-out test split. The full
 * table (both formats, block sizes, latency) is test/bench/int4-report.ts.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classLabels, openDataset, toFloat32 } from '../../src/data/dataset.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import type { Pass } from '../../src/pipeline/pass.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { AccuracyMeter } from '../../src/report/metrics.ts';
import { createSession, runDataset } from '../../src/runtime/ort.ts';
import { quantizeInt4 } from '../../passes/quantize-int4.ts';

const MODEL = 'fixtures/tinyvit.onnx';
const CALIB = 'fixtures/data/mnist-calib.npz';
const TEST = 'fixtures/data/mnist-test.npz';
const TEST_SAMPLES = 1000;

async function top1(bytes: Uint8Array): Promise<number> {
  const ds = await openDataset(TEST);
  const session = await createSession(bytes);
  try {
    const meter = new AccuracyMeter();
    const batches = (async function* () {
      for await (const b of ds.batches(200, { limit: TEST_SAMPLES })) yield { x: toFloat32(b.x, ds.x.dtype), shape: b.shape, y: classLabels(ds, b) };
    })();
    for await (const out of runDataset(session, batches)) meter.add(out.output, out.y!);
    return meter.result().top1 * 100;
  } finally {
    await session.ort.release();
    await ds.close();
  }
}

describe.skipIf(!existsSync(MODEL))('quantize-int4 on tinyvit', () => {
  it('quantize-int4: tinyvit weights ≤ 0.16× fp32, GPTQ accuracy ≥ RTN accuracy on held-out digits', async () => {
    const run = async (options: Record<string, unknown>) => {
      const model = await loadModel(MODEL);
      const { stages } = await runPipeline(model, [{ pass: quantizeInt4 as unknown as Pass, options }]);
      return { bytes: modelToBytes(model), changes: stages[0]!.changes };
    };
    const rtn = await run({});
    const gptq = await run({ algorithm: 'gptq', calib: CALIB, calibSamples: 128 });
    // Every MatMul is quantized, the [28, 64] embedding as one block of 32 per column.
    expect(rtn.changes.nodesQuantized).toBe(14);
    expect(rtn.changes.weightBytesAfter! / rtn.changes.weightBytesBefore!).toBeLessThanOrEqual(0.16);
    const [accRtn, accGptq] = [await top1(rtn.bytes), await top1(gptq.bytes)];
    expect(accGptq).toBeGreaterThanOrEqual(accRtn);
  }, 60_000);
});
