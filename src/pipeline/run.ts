/**
 * Runs passes in order on a model: validates every pass's options before running any,
 * times each pass, measures the model's encoded size after it, and stamps any error with
 * the pass it came from.
 */
import { ShrinkrayError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import { chunkLength } from '../onnx/chunk.ts';
import { encodeMessage } from '../onnx/codec.ts';
import { Model as ModelDesc } from '../onnx/schema.ts';
import { modelToBytes } from '../io/save.ts';
import { modelToProto } from '../io/to-proto.ts';
import { validateOptions } from './options.ts';
import type { Pass, PassChanges, PassContext } from './pass.ts';

export interface PipelineStep {
  pass: Pass;
  options?: Record<string, unknown>;
}

export interface StageResult {
  pass: string;
  seconds: number;
  /** Encoded model size after the pass (tensor data inline). */
  bytes: number;
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

export interface PipelineResult {
  stages: StageResult[];
  notes: string[];
  inputBytes: number;
}

/** The size the model would have if saved as one file, without writing or reading tensors. */
export function encodedSize(model: Model): number {
  return encodeMessage(modelToProto(model, () => undefined), ModelDesc)
    .finish()
    .reduce((n, p) => n + chunkLength(p), 0);
}

export async function runPipeline(model: Model, steps: readonly PipelineStep[], events: PipelineEvents = {}): Promise<PipelineResult> {
  const validated = steps.map((s) => ({ pass: s.pass, options: validateOptions(s.pass.name, s.pass.options, s.options) }));
  const notes: string[] = [];
  const stages: StageResult[] = [];
  const inputBytes = encodedSize(model);
  // A copy of the input only when a pass asks for it (serializing a large model is not free).
  const inputModel = validated.some((s) => s.pass.usesInputModel) ? modelToBytes(model) : undefined;
  for (const [i, { pass, options }] of validated.entries()) {
    events.onPassStart?.(pass.name, i, validated.length);
    const ctx: PassContext = {
      progress: (f, label) => events.onProgress?.(pass.name, f, label),
      note: (m) => {
        notes.push(m);
        events.onNote?.(m);
      },
      ...(pass.usesInputModel && inputModel && { inputModel }),
    };
    const start = performance.now();
    let changes: PassChanges;
    try {
      changes = await pass.run(model, options, ctx);
    } catch (err) {
      if (err instanceof ShrinkrayError) {
        err.message = `pass '${pass.name}': ${err.message}`;
        throw err;
      }
      throw new Error(`pass '${pass.name}' failed: ${(err as Error).message}`, { cause: err });
    }
    const result = { pass: pass.name, seconds: (performance.now() - start) / 1000, bytes: encodedSize(model), changes };
    stages.push(result);
    events.onPassEnd?.(result);
    await events.afterPass?.(model, result);
  }
  return { stages, notes, inputBytes };
}
