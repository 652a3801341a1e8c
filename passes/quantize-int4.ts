/**
 * quantize-int4: block-wise int4 weight-only quantization of MatMul/Gemm weights, by
 * round-to-nearest or GPTQ (calibrated), emitted as com.microsoft MatMulNBits or as opset-21
 * blocked DequantizeLinear feeding the original node. The result is run in onnxruntime
 * before the pass returns. The work is done by `quantizeModelInt4` (src/quant/int4/int4.ts).
 */
import { definePass } from '../src/pipeline/pass.ts';

export const quantizeInt4 = definePass({
  name: 'quantize-int4',
  kind: 'quantize',
  description: 'int4 block-wise weight-only quantization of MatMul/Gemm (RTN or GPTQ), as MatMulNBits or blocked DequantizeLinear.',
  options: {
    algorithm: { type: 'enum', default: 'rtn', values: ['rtn', 'gptq'], description: 'rtn: round to nearest; gptq: second-order error compensation from calibration inputs (needs calib).' },
    format: { type: 'enum', default: 'matmulnbits', values: ['matmulnbits', 'dq'], description: 'matmulnbits: com.microsoft MatMulNBits (onnxruntime); dq: standard DequantizeLinear with INT4/UINT4 blocks (raises the model to opset 21).' },
    blockSize: { type: 'number', integer: true, default: 32, min: 32, max: 128, description: 'Weights per block along K sharing one scale: 32, 64 or 128.' },
    symmetric: { type: 'boolean', default: true, description: 'true: int4 codes −7..7, no zero point; false: uint4 codes with a zero point per block.' },
    accuracyLevel: { type: 'number', integer: true, default: 0, min: 0, max: 4, description: 'MatMulNBits accuracy_level: 0 unset (float), 4 lets onnxruntime quantize activations to int8 (faster, less exact).' },
    calib: { type: 'string', default: '', description: 'Calibration data for gptq: .npz / .npy / folder.' },
    calibSamples: { type: 'number', integer: true, default: 128, min: 1, description: 'Calibration samples (the first N).' },
    calibBatch: { type: 'number', integer: true, default: 32, min: 1, description: 'Samples per calibration run.' },
    damp: { type: 'number', default: 0.01, min: 0, max: 1, description: 'GPTQ dampening added to the Hessian diagonal, as a fraction of its mean.' },
    sequential: { type: 'boolean', default: true, description: 'GPTQ: calibrate each layer with the layers before it already quantized.' },
    opTypes: { type: 'list', default: ['MatMul', 'Gemm'], description: 'Op types to quantize (MatMul, Gemm).' },
    excludeNodes: { type: 'list', default: [], description: 'Node names kept in float.' },
  },
  async run(model, options, ctx) {
    // The engine loads when the pass runs, not when passes are listed (see cleanup.ts).
    const [{ openDataset }, { quantizeModelInt4 }] = await Promise.all([import('../src/data/dataset.ts'), import('../src/quant/int4/int4.ts')]);
    const calib = options.calib ? await openDataset(options.calib, { inputValues: ctx.inputValues }) : undefined;
    try {
      const result = await quantizeModelInt4(model, {
        algorithm: options.algorithm,
        format: options.format,
        blockSize: options.blockSize,
        scheme: options.symmetric ? 'symmetric' : 'asymmetric',
        accuracyLevel: options.accuracyLevel,
        calib,
        calibSamples: options.calibSamples,
        calibBatch: options.calibBatch,
        damp: options.damp,
        sequential: options.sequential,
        opTypes: new Set(options.opTypes),
        exclude: new Set(options.excludeNodes),
        progress: (f, l) => ctx.progress(f, l),
        outputRunByCaller: ctx.outputRunByCaller,
        given: { shapes: ctx.shapes, values: ctx.inputValues },
      });
      for (const n of result.notes) ctx.note(n);
      const before = result.layers.reduce((s, l) => s + l.bytesBefore, 0);
      const after = result.layers.reduce((s, l) => s + l.bytesAfter, 0);
      return {
        nodesQuantized: result.nodesQuantized,
        weightsQuantized: result.layers.length,
        keptFloat: result.skipped.length,
        weightBytesBefore: before,
        weightBytesAfter: after,
      };
    } finally {
      await calib?.close();
    }
  },
});
