/**
 * The op table's "tflite" column, keyed by default-domain op type: the TFLite builtin each
 * ONNX op becomes, or null where there is known to be none. Data only — the converter
 * lives with the exporter. Starts with the layers every fixture has; the TFLite work fills
 * in the rest.
 */
import type { TfliteMapping } from './types.ts';

export const TFLITE: Readonly<Record<string, TfliteMapping | null>> = {
  Conv: { builtin: 'CONV_2D' },
  Gemm: { builtin: 'FULLY_CONNECTED' },
  MatMul: { builtin: 'BATCH_MATMUL' },
  Relu: { builtin: 'RELU' },
};
