/**
 * The pass contract. A pass is a plain object in its own file under `passes/`: a name, a
 * kind, an options schema and `run`. It edits the model it is given and returns what it
 * changed (the pipeline gives it a copy and adopts the copy only on success); it never
 * prints or exits (progress and notes go through the context).
 */
import type { InputValues } from '../data/input-values.ts';
import type { Model } from '../ir/model.ts';
import type { OptionValues, OptionsSchema } from './options.ts';
import type { InputShapes } from '../runtime/shapes.ts';
import type { InputSource } from '../quant/calibration/run.ts';

export type PassKind = 'cleanup' | 'prune' | 'quantize' | 'distill' | 'export';

export interface PassContext {
  /** Reports progress of a long step (0..1). */
  progress(fraction: number, label?: string): void;
  /** A note for the report (what was skipped and why, what was changed). */
  note(message: string): void;
  /** The model as the pipeline received it, before any pass (read-only: e.g. distillation's default teacher). */
  readonly inputModel?: Model;
  /**
   * The caller loads and runs this pass's result in onnxruntime before anyone sees it (the CLI
   * measures the output, and a refusal there fails the run): the pass's own load-and-run check
   * would only load the model once more, so it skips it.
   */
  readonly outputRunByCaller?: boolean;
  /** Sizes of free input dims the user gave (`--input-shape`, `--dim`), for checks on random inputs. */
  readonly shapes?: InputShapes;
  /** Values fed whole to model inputs wherever a pass runs the model on data (`--input-value`): pass them to `openDataset`. */
  readonly inputValues?: InputValues;
  /**
   * The inputs the caller's quality gate compares the result with the input model on (`--data`,
   * else seeded random inputs); undefined when no gate runs. A pass that falls back layer by
   * layer without data of its own steers by them (quantize's SQNR fallback).
   */
  readonly judgedOn?: InputSource;
}

/** What a pass changed, for the report: counts keyed by what they count. */
export type PassChanges = Record<string, number>;

export interface Pass<S extends OptionsSchema = OptionsSchema> {
  readonly name: string;
  readonly kind: PassKind;
  readonly description: string;
  readonly options: S;
  run(model: Model, options: OptionValues<S>, ctx: PassContext): Promise<PassChanges>;
}

/**
 * A file a pass produces that is not an ONNX model (a `.tflite`, say). An export pass ends a
 * pipeline: the model it read stays as it was, and the pipeline writes `bytes` to the output
 * path, which must end in `extension`, only after `verify` has passed.
 */
export interface Artifact {
  /** What the file is, for the report ('tflite'). */
  readonly format: string;
  /** The output path's required ending, with the dot ('.tflite'). */
  readonly extension: string;
  readonly bytes: Uint8Array;
  /** Per-kind facts for the report (op coverage, output comparison …). */
  readonly details?: Record<string, unknown>;
}

export interface ExportPass<S extends OptionsSchema = OptionsSchema> {
  readonly name: string;
  readonly kind: 'export';
  readonly description: string;
  readonly options: S;
  /** The extension of the files it writes ('.tflite'). */
  readonly extension: string;
  /** Builds the artifact; never changes `model`. Refuses unsupported input before building anything. */
  export(model: Model, options: OptionValues<S>, ctx: PassContext): Promise<Artifact>;
  /** Runs the artifact in its own runtime against `model` (e.g. the TFLite interpreter vs onnxruntime); throws CheckError on disagreement. */
  verify(artifact: Artifact, model: Model, options: OptionValues<S>, ctx: PassContext): Promise<void>;
}

/** Declares an export pass with its option types inferred from the schema. */
export function defineExportPass<const S extends OptionsSchema>(pass: ExportPass<S>): ExportPass<S> {
  return pass;
}

/** Declares a pass with its option types inferred from the schema. */
export function definePass<const S extends OptionsSchema>(pass: Pass<S>): Pass<S> {
  return pass;
}
