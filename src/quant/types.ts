/** The int8 quantizer's public types: options (with defaults), inputs and the result. */
import type { Dataset } from '../data/dataset.ts';
import type { CalibrationMethod } from './calibrators.ts';
import type { RuntimeCheck } from '../runtime/check.ts';
import type { QuantFormat } from './plan.ts';

export type QuantMode = 'static' | 'dynamic';
export type ActivationType = 'uint8' | 'int8';

/** Per-layer precision, by node name: what `recipe` files hold. */
export interface Recipe {
  layers: Record<string, 'float' | 'int8'>;
}

export interface QuantizeOptions {
  /** 'static' (default): weights and activations, calibrated; 'dynamic': MatMul/Gemm weights only, activations at run time. */
  mode: QuantMode;
  /** 'qdq' (default): Q/DQ pairs any runtime understands; 'qoperator': integer operators (QLinearConv …). Static only. */
  format: QuantFormat;
  /** Activation type, per tensor asymmetric. Default 'uint8' (the fast u8×s8 path on x86). */
  activationType: ActivationType;
  /** Per-channel weight scales (default true); false = one scale per weight tensor. */
  perChannel: boolean;
  /** Range estimation from the calibration histograms. Default 'percentile'. */
  calibration: CalibrationMethod;
  /** Two-sided percentile for calibration 'percentile'. Default 99.99. */
  percentile: number;
  /** Calibration samples used (the first N of the data set). Default 512. */
  calibSamples: number;
  /** Samples per calibration run. Default 64. */
  calibBatch: number;
  /** Histogram bins per tensor (memory per tensor = 8 × bins bytes). Default 2048. */
  bins: number;
  /** Op types to quantize; empty = the defaults (`DEFAULT_OP_TYPES`). */
  opTypes: string[];
  /** Node names kept in float. */
  excludeNodes: string[];
  /** Keep the first and last compute layers (Conv/MatMul/Gemm) in float. Default false. */
  keepIoFloat: boolean;
  /**
   * Static: a Conv (group 1) with fewer input channels stays float — an image stem, where
   * onnxruntime's int8 convolution falls off its fast path (lenet5 conv1: 878 µs int8 vs
   * 208 µs fp32 at batch 32). Default 4; 0 quantizes every Conv.
   */
  minConvInputChannels: number;
  /** Mixed precision: per-node 'float' or 'int8' (int8 also quantizes op types not in opTypes). */
  recipe?: Recipe;
  /** Accuracy budget in percentage points; enables fallback (needs `evaluate`). Undefined = no fallback. */
  maxAccuracyDrop?: number;
  /** Samples (from the calibration data) used to rank layer sensitivity. Default 128. */
  sensitivitySamples: number;
  /** Compare every quantized layer's output with float (SQNR, max error). Default false. */
  debugLayers: boolean;
  /**
   * Static: float constants still in the graph after quantization (LayerNorm parameters, biases
   * of post-ops, positional tables; ≥ 64 values, read by elementwise/normalization ops) are
   * stored as int8 with one scale and dequantized at load. Default true.
   */
  constantsInt8: boolean;
  /** Samples used for debugLayers. Default 128. */
  debugSamples: number;
  /**
   * How the result is checked in onnxruntime: 'full' loads and runs it; 'structure'
   * loads it with large weights as inputs (kernels and shapes); 'auto' (default) is full up
   * to 128 MiB of tensors.
   */
  runtimeCheck: RuntimeCheck;
}

export const QUANTIZE_DEFAULTS: Readonly<QuantizeOptions> = {
  mode: 'static',
  format: 'qdq',
  activationType: 'uint8',
  perChannel: true,
  calibration: 'percentile',
  percentile: 99.99,
  calibSamples: 512,
  calibBatch: 64,
  bins: 2048,
  opTypes: [],
  excludeNodes: [],
  keepIoFloat: false,
  minConvInputChannels: 4,
  sensitivitySamples: 128,
  debugLayers: false,
  debugSamples: 128,
  constantsInt8: true,
  runtimeCheck: 'auto',
};

export interface QuantizeInputs {
  /** Calibration samples (required for static mode). */
  calibration?: Dataset;
  /**
   * Scores a model (bytes) on held-out data: top-1 accuracy as a fraction in [0, 1]. Required
   * with `maxAccuracyDrop`. `accuracyEvaluator` builds one from a labelled data set.
   */
  evaluate?: (model: Uint8Array) => Promise<number>;
  progress?: (fraction: number, label?: string) => void;
  note?: (message: string) => void;
}

export interface LayerError {
  node: string;
  opType: string;
  /** The compared tensor (after a folded ReLU/Clip when there is one). */
  tensor: string;
  sqnrDb: number;
  maxAbsError: number;
  /** Largest |value| of the float tensor, to judge maxAbsError against. */
  maxAbs: number;
}

export interface Sensitivity {
  node: string;
  opType: string;
  /** SQNR (dB) of the model outputs vs float with only this layer quantized: lower = more sensitive. */
  outputSqnrDb: number;
}

export interface FallbackStep {
  /** Layers in float at this step. */
  floatLayers: string[];
  /** Accuracy (fraction) of the model built at this step. */
  accuracy: number;
}

export interface FallbackReport {
  /** Percentage points. */
  budget: number;
  floatAccuracy: number;
  /** With every selected layer quantized. */
  quantizedAccuracy: number;
  finalAccuracy: number;
  /** Percentage points. */
  finalDrop: number;
  sensitivity: Sensitivity[];
  steps: FallbackStep[];
  /** Layers returned to float, most sensitive first. */
  keptFloat: string[];
}

export interface QuantizeResult {
  mode: QuantMode;
  format: QuantFormat | 'dynamic';
  activationType: ActivationType;
  /** Nodes running quantized (names or labels). */
  quantized: string[];
  /** Candidate nodes left in float, and why. */
  keptFloat: Array<{ node: string; opType: string; reason: string }>;
  /** Weight tensors converted to int8. */
  weights: number;
  calibration?: { method: string; samples: number; tensors: number; histogramBytes: number; seconds: number };
  fallback?: FallbackReport;
  /** Which runtime check ran. */
  runtimeCheck?: 'full' | 'structure';
  /** Per-layer comparison with float (debugLayers). */
  layers?: LayerError[];
  notes: string[];
}
