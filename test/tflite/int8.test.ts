import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { DEFAULT_OP_TYPES } from '../../src/quant/int8/ops.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { exportTflite } from '../../src/tflite/convert.ts';
import { compareWithOnnx, randomSamples } from '../../src/tflite/verify.ts';
import type { Model } from '../../src/ir/model.ts';
import { convNet, randomDataset, attentionBlock } from '../quant/graphs.ts';

async function qdq(model: Model, shape: number[], activationType: 'int8' | 'uint8', opTypes: string[] = []) {
  const copy = await loadModel(modelToBytes(model));
  await quantizeModel(copy, { activationType, minConvInputChannels: 0, calibSamples: 64, calibration: 'minmax', target: 'size', opTypes }, { calibration: randomDataset([64, ...shape]) });
  return copy;
}

describe('export-tflite: full int8 on tiny QDQ graphs', () => {
  for (const activationType of ['int8', 'uint8'] as const) {
    it(`export-tflite: conv, relu, maxpool, concat (requantized), flatten, gemm, add — ${activationType} activations`, async () => {
      const model = await qdq(convNet(), [3, 8, 8], activationType);
      const result = await exportTflite(model, { kind: 'int8' });
      const ops = result.model.operators;
      const t = result.model.tensors;
      const pool = ops.find((o) => o.op === 'MAX_POOL_2D')!;
      expect(t[pool.inputs[0]!]!.type).toBe('INT8');
      expect(t[pool.outputs[0]!]!.quantization).toEqual(t[pool.inputs[0]!]!.quantization);
      const cat = ops.find((o) => o.op === 'CONCATENATION')!;
      for (const i of cat.inputs) expect(t[i]!.quantization!.scale).toEqual(t[cat.outputs[0]!]!.quantization!.scale);
      const cmp = await compareWithOnnx(modelToBytes(model), result, randomSamples(result.inputs, 4));
      const o = cmp.outputs[0]!;
      expect(o.cosine).toBeGreaterThan(0.99);
      // Within a few output steps of onnxruntime's own int8 result.
      if (o.maxErrorSteps !== undefined) expect(o.maxErrorSteps).toBeLessThan(8);
    });
  }

  it('export-tflite: transformer block in int8 keeps SOFTMAX at (1/256, −128) when it is quantized', async () => {
    // Softmax opted in: otherwise it stays float (the scaled scores feed it unquantized).
    const model = await qdq(attentionBlock(), [6, 8], 'int8', [...DEFAULT_OP_TYPES, 'Softmax']);
    const result = await exportTflite(model, { kind: 'int8' });
    const soft = result.model.operators.find((o) => o.op === 'SOFTMAX');
    const out = soft ? result.model.tensors[soft.outputs[0]!]! : undefined;
    expect(out?.type).toBe('INT8');
    expect(out!.quantization).toEqual({ scale: [1 / 256], zeroPoint: [-128] });
    // LayerNorm has no int8 kernel here: it runs in float between DEQUANTIZE and QUANTIZE.
    expect(result.floatNodes.map((f) => f.node)).toContain('ln');
    const cmp = await compareWithOnnx(modelToBytes(model), result, randomSamples(result.inputs, 4));
    expect(cmp.outputs[0]!.cosine).toBeGreaterThan(0.98);
  });
});
