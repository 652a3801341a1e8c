/**
 * quantize-int4 on the transformer fixture: MatMul weights to ≤ 0.16× of fp32 (scales
 * counted), and GPTQ no worse than round-to-nearest on the held-out test split. The full
 * table (both formats, block sizes, latency) is test/bench/int4-report.ts.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDataset } from '../../src/data/dataset.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { quantizeInt4 } from '../../passes/quantize-int4.ts';

const MODEL = 'fixtures/tinyvit.onnx';
const CALIB = 'fixtures/data/mnist-calib.npz';
const TEST = 'fixtures/data/mnist-test.npz';
const TEST_SAMPLES = 1000;

async function top1(bytes: Uint8Array): Promise<number> {
  const ds = await openDataset(TEST);
  try {
    return (await accuracyEvaluator(ds, { batchSize: 200, limit: TEST_SAMPLES })(bytes)) * 100;
  } finally {
    await ds.close();
  }
}

describe.skipIf(!existsSync(MODEL))('quantize-int4 on tinyvit', () => {
  it('quantize-int4: tinyvit weights ≤ 0.16× fp32, GPTQ accuracy ≥ RTN accuracy on held-out digits', async () => {
    const run = async (options: Record<string, unknown>) => {
      const model = await loadModel(MODEL);
      const { stages } = await runPipeline(model, [{ pass: quantizeInt4, options }]);
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
