/**
 * Runs passes in order on a model: resolves and validates every step before running any,
 * runs each pass on a copy (so a pass that fails leaves the model as it was), times it,
 * measures the model's encoded size after it, and stamps any error with the pass it came
 * from. An export pass may only end the pipeline: its artifact is returned, the model is
 * left as the passes before it made it.
 */
import { ShrinkrayError, InputError } from '../errors.ts';
import type { InputValues } from '../data/input-values.ts';
import type { Model } from '../ir/model.ts';
import { encodedSize } from '../io/save.ts';
import { getPass, passes } from '../../passes/index.ts';
import { validateOptions, type OptionValues, type OptionsSchema } from './options.ts';
import type { Artifact, ExportPass, Pass, PassChanges, PassContext } from './pass.ts';
import type { InputShapes } from '../runtime/shapes.ts';
import type { InputSource } from '../quant/calibration/run.ts';

export type AnyPass = Pass | ExportPass;

export interface PipelineStep {
  /** A pass object, or a registered pass's name ('cleanup'). */
  pass: AnyPass | string;
  options?: Record<string, unknown>;
}

/** A step whose pass is already looked up (a caller that needs its kind before running it). */
export interface ResolvedStep extends PipelineStep {
  pass: AnyPass;
}

export interface StageResult {
  pass: string;
  seconds: number;
  /**
   * Encoded model size after the pass (tensor data inline); for an export pass, the artifact's
   * size. Computed when first read (the CLI reads the saved file's size instead).
   */
  readonly bytes: number;
  changes: PassChanges;
}

export interface PipelineEvents {
  onPassStart?(pass: string, index: number, total: number): void;
  onProgress?(pass: string, fraction: number, label?: string): void;
  onNote?(message: string): void;
  onPassEnd?(result: StageResult): void;
  /** Awaited after each pass, with the model in its state after that pass (e.g. to measure it). */
  afterPass?(model: Model, result: StageResult): Promise<void>;
}

export interface PipelineOptions extends PipelineEvents {
  /** The caller runs the final model in onnxruntime itself (and fails if it cannot): the last pass skips its own check. */
  outputRunByCaller?: boolean;
  /** Sizes of free input dims, handed to every pass (PassContext.shapes). */
  shapes?: InputShapes;
  /** Values fed whole to model inputs when passes run the model on data (see PassContext.inputValues). */
  inputValues?: InputValues;
  /** What the caller's quality gate judges the output on (see PassContext.judgedOn). */
  judgedOn?: InputSource;
}

export interface PipelineResult {
  stages: StageResult[];
  notes: string[];
  /** What a final export pass produced (a `.tflite`, say). */
  artifact?: Artifact;
}

/**
 * The encoded size of a pass's result, computed once when asked. Safe to defer: later passes
 * edit copies, never the graph `model` holds now.
 */
function sizeOf(model: Model): () => number {
  let size: number | undefined;
  return () => (size ??= encodedSize(model));
}

function isPass(p: unknown): p is AnyPass {
  return typeof p === 'object' && p !== null && typeof (p as AnyPass).name === 'string' && typeof (p as AnyPass).options === 'object' &&
    (typeof (p as Pass).run === 'function' || typeof (p as ExportPass).export === 'function');
}

/** A step as a build script may have written it, checked: plain JavaScript gets an InputError naming the step, not a TypeError. */
function resolveStep(step: unknown, index: number, total: number): { pass: AnyPass; options: OptionValues<OptionsSchema> } {
  const where = `pipeline step ${index + 1}`;
  if (typeof step !== 'object' || step === null) throw new InputError(`${where} is ${step === null ? 'null' : typeof step}; expected { pass, options? }`);
  const { pass: given, options } = step as { pass?: unknown; options?: unknown };
  let pass: AnyPass;
  if (typeof given === 'string') {
    try {
      pass = getPass(given);
    } catch (err) {
      if (err instanceof InputError) err.message = `${where}: ${err.message}`;
      throw err;
    }
  } else if (isPass(given)) pass = given;
  else throw new InputError(`${where}: 'pass' must be a pass name (${Object.keys(passes).join(', ')}) or a pass object, got ${given === undefined ? 'undefined' : JSON.stringify(given)}`);
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new InputError(`${where} (${pass.name}): 'options' must be an object`);
  }
  if (pass.kind === 'export' && index !== total - 1) throw new InputError(`${where}: export pass '${pass.name}' must be the last step`);
  return { pass, options: validateOptions(pass.name, pass.options, (options ?? {}) as Record<string, unknown>) };
}

function stamped(pass: string, err: unknown): Error {
  if (err instanceof ShrinkrayError) {
    err.message = `pass '${pass}': ${err.message}`;
    return err;
  }
  return new Error(`pass '${pass}' failed: ${(err as Error).message}`, { cause: err });
}

export async function runPipeline(model: Model, steps: readonly PipelineStep[], events: PipelineOptions = {}): Promise<PipelineResult> {
  if (!Array.isArray(steps)) throw new InputError('runPipeline: steps must be an array of { pass, options? }');
  const resolved = steps.map((s, i) => resolveStep(s, i, steps.length));
  const notes: string[] = [];
  const stages: StageResult[] = [];
  // Passes edit copies, so the model as given stays intact for passes that compare with it (distill's teacher).
  const inputModel = model.clone();
  let artifact: Artifact | undefined;
  for (const [i, { pass, options }] of resolved.entries()) {
    events.onPassStart?.(pass.name, i, resolved.length);
    const ctx: PassContext = {
      progress: (f, label) => events.onProgress?.(pass.name, f, label),
      note: (m) => {
        notes.push(m);
        events.onNote?.(m);
      },
      inputModel,
      outputRunByCaller: events.outputRunByCaller === true && i === resolved.length - 1,
      shapes: events.shapes,
      ...(events.inputValues && { inputValues: events.inputValues }),
      ...(events.judgedOn && { judgedOn: events.judgedOn }),
    };
    const start = performance.now();
    let changes: PassChanges;
    let bytes: () => number;
    try {
      if (pass.kind === 'export') {
        const exportPass = pass as ExportPass;
        artifact = await exportPass.export(model, options, ctx);
        await exportPass.verify(artifact, model, options, ctx);
        changes = {};
        const size = artifact.bytes.byteLength;
        bytes = () => size;
      } else {
        const work = model.clone();
        changes = await (pass as Pass).run(work, options, ctx);
        model.adopt(work);
        bytes = sizeOf(work);
      }
    } catch (err) {
      throw stamped(pass.name, err);
    }
    const seconds = (performance.now() - start) / 1000;
    const result: StageResult = { pass: pass.name, seconds, get bytes() { return bytes(); }, changes };
    stages.push(result);
    events.onPassEnd?.(result);
    await events.afterPass?.(model, result);
  }
  return { stages, notes, ...(artifact && { artifact }) };
}
