/** The int8 quantizer's public types: options (with defaults), inputs and the result. */
import type { Dataset } from '../../data/dataset.ts';
import type { InputValues } from '../../data/input-values.ts';
import type { InputShapes } from '../../runtime/shapes.ts';
import type { InputSource } from '../calibration/run.ts';
import { QUANTIZE_SCHEMA_DEFAULTS, type QuantizeSchemaOptions } from './options.ts';
import type { QuantFormat } from './plan.ts';
import type { CompareFn, PlacementReport } from './placement.ts';
import type { Preparation } from './prepare.ts';

/** Per-layer precision, by node name: what `recipe` files hold. */
export interface Recipe {
  layers: Record<string, 'float' | 'int8'>;
}

/** The schema's options (src/quant/options.ts, documented there), plus what a file or a caller gives. */
export interface QuantizeOptions extends QuantizeSchemaOptions {
  /** Mixed precision: per-node 'float' or 'int8' (int8 also quantizes op types not in opTypes). */
  recipe?: Recipe;
  /** Accuracy budget in percentage points; enables fallback (needs `evaluate`). Undefined = no fallback. */
  maxAccuracyDrop?: number;
}

export type QuantMode = QuantizeOptions['mode'];
export type ActivationType = QuantizeOptions['activationType'];

export const QUANTIZE_DEFAULTS: Readonly<QuantizeOptions> = QUANTIZE_SCHEMA_DEFAULTS;

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
  /**
   * For placement (target speed/balanced): how many times faster model b runs than model a at
   * each placement batch size. Default: onnxruntime, 1 thread, the two interleaved (src/runtime/latency.ts).
   */
  compare?: CompareFn;
  /** Sizes of free input dims (`--input-shape`, `--dim`) and constant inputs (`--input-value`), for placement's random inputs. */
  shapes?: InputShapes;
  inputValues?: InputValues;
  /**
   * The inputs the caller's quality gate judges the result on (the CLI's --data, else seeded
   * random inputs sized by --input-shape/--input-value). Without calibration data, SQNR
   * fallback steers by them; the gate still judges the final model. Undefined (no gate): no
   * fallback without calibration data.
   */
  judgedOn?: InputSource;
  /** The caller loads and runs the result itself (see PassContext.outputRunByCaller): no runtime check here. */
  outputRunByCaller?: boolean;
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
  /**
   * How it was measured (src/quant/int8/sensitivity.ts): 'alone' = the model with only this
   * layer quantized, at its outputs; 'added' = one run of the all-int8 model, the error this
   * layer's output carries beyond the worst of its inputs'.
   */
  method: 'alone' | 'added';
  /** What ranks it, lower = more sensitive: alone: SQNR (dB) of the model's outputs vs float; added: signal over the noise the layer adds, in dB. */
  sqnrDb: number;
  /** added: SQNR (dB) of the layer's own output vs float in the all-int8 model. */
  layerSqnrDb?: number;
}

export interface FallbackStep {
  /** Layers in float at this step. */
  floatLayers: string[];
  /** Accuracy (fraction) of the model built at this step. */
  accuracy: number;
}

export interface FallbackReport {
  /** Set when no labels steered it: the accuracy fields then hold the worst output SQNR (dB) against float, finalDrop the dB under the floor. */
  metric?: 'sqnr';
  /** Percentage points (with metric 'sqnr': the floor in dB). */
  budget: number;
  floatAccuracy: number;
  /** With every selected layer quantized. */
  quantizedAccuracy: number;
  finalAccuracy: number;
  /** Percentage points. */
  finalDrop: number;
  sensitivity: Sensitivity[];
  steps: FallbackStep[];
  /** Layers returned to float (or to `rung`), most sensitive first. */
  keptFloat: string[];
  /** Set when returned layers became this instead of float (dynamic int8: 'weight-only int8'). */
  rung?: string;
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
  /** Dynamic mode: SQNR fallback's first rung, the integer layers it moved to weight-only int8 (its keptFloat lists them). */
  toWeightOnly?: FallbackReport;
  /** What the preparation (option prepare) folded and fused. */
  preparation?: Preparation;
  /** Latency-driven placement (static mode, target speed or balanced). */
  placement?: PlacementReport;
  /** Which runtime check ran. */
  runtimeCheck?: 'full' | 'structure' | 'by the caller';
  /** Per-layer comparison with float (debugLayers). */
  layers?: LayerError[];
  notes: string[];
}
