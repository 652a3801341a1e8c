/**
 * Which pipeline fits a model and the data at hand, and why — shared by `init` (which writes
 * it as a recipe) and `auto` (which runs it). The choice follows what was measured in
 * docs/quantization.md: static int8 needs calibration data and is where the size and speed
 * are; without data only weight-only (dynamic) int8 is safe.
 */
import type { ModelSummary } from '../inspect/summary.ts';

export type DataKind = 'labelled' | 'unlabelled' | 'none';

export interface PlannedStep {
  pass: string;
  options: Record<string, string | number | boolean>;
  /** One line for the reader: why this pass, with these options. */
  why: string;
}

export interface Plan {
  steps: PlannedStep[];
  /** How the result is gated: accuracy on labels, top-1 agreement with the input, or nothing measurable. */
  gate: 'accuracy' | 'agreement' | 'none';
  why: string[];
}

const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm']);

/** `maxAccuracyDrop`: points of top-1 (labelled) or of top-1 agreement (unlabelled). */
export function planCompression(summary: ModelSummary, data: DataKind, maxAccuracyDrop = 1): Plan {
  const cleanup: PlannedStep = { pass: 'cleanup', options: {}, why: 'folds BatchNormalization and constants, removes Identity/Dropout and dead nodes; never changes results' };
  const weighted = summary.opTypes.filter((o) => WEIGHTED.has(o.op));
  const weightBytes = weighted.reduce((n, o) => n + o.bytes, 0);
  const share = summary.weightBytes > 0 ? weightBytes / summary.weightBytes : 0;
  const what = `${weighted.map((o) => `${o.count} ${o.op}`).join(', ')} hold ${(share * 100).toFixed(0)}% of the weight bytes`;
  const alreadyQuantized = summary.quantized.length > 0;
  if (weighted.length === 0 || alreadyQuantized) {
    const reason = alreadyQuantized ? 'the model is already quantized' : 'the model has no Conv, MatMul or Gemm weights to quantize';
    return { steps: [cleanup], gate: data === 'none' ? 'none' : data === 'labelled' ? 'accuracy' : 'agreement', why: [`cleanup only: ${reason}`] };
  }
  if (data === 'none') {
    const matmuls = weighted.filter((o) => o.op !== 'Conv' && o.op !== 'ConvTranspose').reduce((n, o) => n + o.bytes, 0);
    return {
      steps: [cleanup, { pass: 'quantize', options: { mode: 'dynamic' }, why: 'weight-only (dynamic) int8 of MatMul/Gemm: needs no data; activations are quantized at run time' }],
      gate: 'none',
      why: [
        `no data set: static int8 cannot be calibrated, so dynamic int8 (${what}; MatMul/Gemm ${((matmuls / Math.max(1, summary.weightBytes)) * 100).toFixed(0)}% of them)`,
        'nothing can check accuracy: give --data (labelled, or unlabelled samples) to gate the result',
      ],
    };
  }
  const quantize: PlannedStep = { pass: 'quantize', options: { mode: 'static' }, why: 'static int8: per-channel weights, calibrated activations (QDQ)' };
  if (data === 'labelled') {
    quantize.options.maxAccuracyDrop = maxAccuracyDrop;
    quantize.why += `; layers return to float, most sensitive first, until top-1 is within ${maxAccuracyDrop} point${maxAccuracyDrop === 1 ? '' : 's'}`;
    return { steps: [cleanup, quantize], gate: 'accuracy', why: [`labelled data: static int8 with accuracy-driven fallback (${what})`] };
  }
  return {
    steps: [cleanup, quantize],
    gate: 'agreement',
    why: [`unlabelled data: static int8 calibrated on it (${what}), kept only if its top-1 agrees with the float model on ≥ ${(100 - maxAccuracyDrop).toFixed(2)}% of samples; otherwise dynamic int8`],
  };
}
