/**
 * export-tflite: writes the model as a `.tflite` flatbuffer (float32, float16 weights,
 * dynamic-range int8, or full int8 from a calibrated QDQ model), NHWC by construction.
 * `verify` runs the file in the real TFLite interpreter next to onnxruntime on the same
 * inputs and puts the per-output comparison into `Artifact.details.verification`.
 * The interpreter (@tensorflow/tfjs-tflite) is a devDependency: without it, verify says it
 * was skipped rather than failing.
 */
import { CheckError } from '../src/errors.ts';
import { defineExportPass } from '../src/pipeline/pass.ts';
import type { ExportResult, IoInfo } from '../src/tflite/convert.ts';
import type { ExportKind } from '../src/tflite/emitter.ts';

// The converter and the interpreter load when the pass runs, not when passes are listed (see cleanup.ts).
const converter = () => import('../src/tflite/convert.ts');
const checker = async () => ({
  ...(await import('../src/runtime/tflite/interpreter.ts')),
  ...(await import('../src/tflite/verify.ts')),
});

/** Minimum cosine similarity per output, by kind, for verify to pass. */
const MIN_COSINE: Record<ExportKind, number> = { float32: 0.99999, float16: 0.999, dynamic: 0.98, int8: 0.98 };
/** float32 only: largest tolerated absolute difference, relative to the largest reference magnitude (≥ 1). */
const FLOAT32_TOLERANCE = 1e-4;

export const exportTflitePass = defineExportPass({
  name: 'export-tflite',
  kind: 'export',
  description: 'Write a .tflite file (float32, float16, dynamic-range int8, or full int8 from a QDQ model), checked in the TFLite interpreter.',
  extension: '.tflite',
  options: {
    kind: { type: 'enum', default: 'float32', values: ['float32', 'float16', 'dynamic', 'int8'], description: 'float32; float16 weights; dynamic (int8 weights, float activations); int8 (full integer, from a calibrated QDQ model).' },
    io: { type: 'enum', default: 'float', values: ['float', 'int8'], description: 'Input/output type of an int8 export: float (QUANTIZE/DEQUANTIZE inside) or int8.' },
    keepNchwIo: { type: 'boolean', default: false, description: 'Keep 4-D inputs/outputs NCHW (a TRANSPOSE inside) instead of NHWC.' },
    batch: { type: 'number', integer: true, default: 1, min: 1, description: 'Size given to symbolic (batch) dimensions.' },
    verifySamples: { type: 'number', integer: true, default: 8, min: 1, description: 'Random inputs compared between the interpreter and onnxruntime.' },
  },
  async export(model, options) {
    const { exportTflite } = await converter();
    const result = await exportTflite(model, {
      kind: options.kind as ExportKind,
      io: options.io as 'float' | 'int8',
      keepNchwIo: options.keepNchwIo,
      batch: options.batch,
    });
    return {
      format: 'tflite',
      extension: '.tflite',
      bytes: result.bytes,
      details: { kind: options.kind, operators: result.operators, inputs: result.inputs, outputs: result.outputs, floatNodes: result.floatNodes },
    };
  },
  async verify(artifact, model, options, ctx) {
    const { interpreterAvailable, compareWithOnnx, randomSamples } = await checker();
    const details = (artifact.details ?? {}) as Record<string, unknown>;
    if (!(await interpreterAvailable())) {
      details.verification = { skipped: 'the TFLite interpreter (@tensorflow/tfjs-tflite, a devDependency) is not installed' };
      ctx.note('export-tflite: verification skipped: @tensorflow/tfjs-tflite is not installed');
      return;
    }
    const kind = options.kind as ExportKind;
    const inputs = details.inputs as IoInfo[];
    const result = { bytes: artifact.bytes, inputs, outputs: details.outputs as IoInfo[] } as ExportResult;
    // Inputs inside what an int8 input can represent; [0, 1) otherwise (images, probabilities …).
    const q = inputs[0]?.quantization;
    const [lo, hi] = q ? [q.scale[0]! * (-128 - q.zeroPoint[0]!), q.scale[0]! * (127 - q.zeroPoint[0]!)] : [0, 1];
    const cmp = await compareWithOnnx(model, result, randomSamples(inputs, options.verifySamples, lo, hi));
    details.verification = { runtime: 'TFLite interpreter (tfjs-tflite WASM, XNNPACK)', reference: 'onnxruntime', samples: cmp.samples, outputs: cmp.outputs };
    // A loop, not Math.max(...values): a large output would overflow the argument list.
    let refMax = 1;
    for (const v of cmp.onnx) for (const x of v) refMax = Math.max(refMax, Math.abs(x));
    for (const o of cmp.outputs) {
      if (o.cosine < MIN_COSINE[kind] || (kind === 'float32' && o.maxAbsError > FLOAT32_TOLERANCE * refMax)) {
        throw new CheckError(`export-tflite: output '${o.name}' differs from onnxruntime: max abs error ${o.maxAbsError.toExponential(2)}, cosine ${o.cosine.toFixed(6)} (${kind})`);
      }
    }
  },
});
