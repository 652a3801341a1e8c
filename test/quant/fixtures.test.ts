/**
 * int8 on the real fixtures (skipped when they are absent): accuracy within 0.5 pt on the
 * held-out split, and the file size. The full tables (every calibration method, latency,
 * fallback) come from test/bench/quantize-fixtures.ts, outside the default suite.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { openDataset } from '../../src/data/dataset.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { cleanup } from '../../passes/cleanup.ts';
import { optimizedOps } from '../helpers/run-model.ts';

const root = new URL('../../fixtures/', import.meta.url).pathname;
const data = (split: string) => `${root}data/mnist-${split}.npz`;
/** Size ratios as measured (docs/quantization.md explains dscnn's per-channel floor; mobilenetv2 measured 0.342). */
const MAX_RATIO: Record<string, number> = { lenet5: 0.3, mlp: 0.3, dscnn: 0.43, tinyvit: 0.3, mobilenetv2: 0.35 };
/**
 * What onnxruntime runs (its optimized graph): every Conv/Gemm in 8 bits but the stems kept
 * float on purpose (fewer than 4 input channels). A Q/DQ pattern it fails to fuse shows here.
 */
const RUNS: Record<string, Record<string, number>> = {
  lenet5: { Conv: 1, QLinearConv: 1, QGemm: 3 },
  mlp: { QGemm: 3 },
  dscnn: { Conv: 1, QLinearConv: 6, QGemm: 1 },
  tinyvit: { MatMulIntegerToFloat: 15, QLinearMatMul: 2, QGemm: 1 },
  mobilenetv2: { Conv: 1, QLinearConv: 16, QGemm: 1 },
};
const LAYER_OPS = new Set(['Conv', 'QLinearConv', 'Gemm', 'QGemm', 'MatMul', 'MatMulInteger', 'MatMulIntegerToFloat', 'QLinearMatMul', 'FusedConv', 'FusedGemm', 'FusedMatMul']);

describe('quantize: fixtures', () => {
  for (const name of Object.keys(MAX_RATIO)) {
    const path = `${root}${name}.onnx`;
    it.skipIf(!existsSync(path) || !existsSync(data('test')))(`quantize: ${name}: static int8 QDQ within 0.5 pt on the held-out split`, async () => {
      const model = await loadModel(path);
      await runPipeline(model, [{ pass: cleanup }]);
      const fp32 = modelToBytes(model);
      const [calib, test] = [await openDataset(data('calib')), await openDataset(data('test'))];
      try {
        const evaluate = accuracyEvaluator(test);
        const before = await evaluate(fp32);
        const result = await quantizeModel(model, { target: 'size' }, { calibration: calib });
        const int8 = modelToBytes(model);
        const after = await evaluate(int8);
        expect((before - after) * 100).toBeLessThanOrEqual(0.5);
        expect(int8.byteLength / fp32.byteLength).toBeLessThanOrEqual(MAX_RATIO[name]!);
        expect(result.runtimeCheck).toBe('full');
        const counts: Record<string, number> = {};
        for (const op of await optimizedOps(int8, tmpdir())) if (LAYER_OPS.has(op)) counts[op] = (counts[op] ?? 0) + 1;
        expect(counts).toEqual(RUNS[name]);
      } finally {
        await calib.close();
        await test.close();
      }
    });
  }
});
