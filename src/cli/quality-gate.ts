/**
 * The quality gate of a run with a lossy pass (quantize, prune, distill): every stage after
 * it is compared with the input model (a distill pass's teacher, when it names one), output
 * by output, on the given data set (--data), else the first lossy pass's calibration or
 * training data, else seeded random inputs. The report carries the comparison; the SQNR floor
 * (--min-sqnr, default 20 dB) is a budget. A run with a distill pass is not held to the default
 * floor: a trained student need not match its teacher's logits to 20 dB (its own measures are
 * accuracy and agreement), and an int8 step after it is held to the student by quantize's own
 * fallback; --min-sqnr still gates it. A run whose outputs could not
 * be compared fails (--no-quality-gate accepts it unchecked), or passes with a warning when only
 * an input size was missing (a free dim must not stop compression: compress.ts).
 */
import { openDataset, type Dataset } from '../data/dataset.ts';
import type { InputValues } from '../data/input-values.ts';
import { CheckError, InputError, ShapeUnknownError } from '../errors.ts';
import { compareWithReference, referenceOutputs, sourceName, type Quality, type Reference } from '../evaluate/quality.ts';
import type { PassKind } from '../pipeline/pass.ts';
import type { ResolvedStep } from '../pipeline/run.ts';
import type { InputSource } from '../quant/calibration/run.ts';
import type { InputShapes } from '../runtime/shapes.ts';
import type { CliIO } from './io.ts';
import { firstLine } from '../runtime/ort.ts';

const LOSSY: readonly PassKind[] = ['quantize', 'prune', 'distill'];

/** Samples compared when the user does not cap them with --limit: enough for a stable SQNR, cheap to run twice. */
export const QUALITY_SAMPLES = 256;
/** Random inputs (batch 1 each) when there is no data at all. */
export const QUALITY_RANDOM_RUNS = 8;

export interface QualityGate {
  /** `model` (bytes or a path) against the input model; undefined once a comparison could not be made. */
  measure(model: Uint8Array | string): Promise<Quality | undefined>;
  /** Why the outputs could not be compared (a model random inputs cannot drive, say). */
  readonly failure: string | undefined;
  /** Whether that was only for want of an input size (`--input-shape`), not a model failing on its inputs. */
  readonly unsized: boolean;
  /** Whether the default floor applies (no distill pass in the run). */
  readonly defaultFloor: boolean;
  /** The model compared with: the input's path, or a distill pass's teacher. */
  readonly reference: string;
  /** The inputs both run on (a pass's SQNR fallback steers by them: PassContext.judgedOn). */
  readonly source: InputSource;
  close(): Promise<void>;
}

export interface GateData {
  dataset?: Dataset;
  limit?: number;
  batchSize: number;
  inputValues: InputValues;
  /** Sizes of free input dims for random inputs (`--input-shape`, `--dim`). */
  shapes?: InputShapes;
}

/** The first lossy step's non-empty string option among `keys` (its data: `calib`, `train`; a `teacher`). */
function stepOption(steps: readonly ResolvedStep[], keys: readonly string[]): string | undefined {
  for (const s of steps) {
    if (!LOSSY.includes(s.pass.kind)) continue;
    const value = keys.map((k) => s.options?.[k]).find((v) => typeof v === 'string' && v);
    if (value !== undefined) return value as string;
  }
  return undefined;
}

/** Whether any step can change what the model computes (and so is held to the gate). */
export function hasLossyStep(steps: readonly ResolvedStep[]): boolean {
  return steps.some((s) => LOSSY.includes(s.pass.kind));
}

/** The gate for `steps` on `input` (a path onnxruntime loads), or undefined when no step is lossy. */

export async function openQualityGate(input: string, steps: readonly ResolvedStep[], data: GateData): Promise<QualityGate | undefined> {
  if (!hasLossyStep(steps)) return undefined;
  const path = data.dataset ? undefined : stepOption(steps, ['calib', 'train']);
  const reference = stepOption(steps, ['teacher']) ?? input;
  const opened = path ? await openDataset(path, { inputValues: data.inputValues }) : undefined;
  const dataset = data.dataset ?? opened;
  const source: InputSource = dataset
    ? { dataset, limit: data.limit ?? QUALITY_SAMPLES, batchSize: data.batchSize }
    : { random: true, batches: QUALITY_RANDOM_RUNS, seed: 1, values: data.inputValues, ...(data.shapes && { shapes: data.shapes }) };
  let outputs: Promise<Reference> | undefined;
  let failure: string | undefined;
  let unsized = false;
  return {
    async measure(model) {
      if (failure !== undefined) return undefined;
      let ref: Reference;
      try {
        ref = await (outputs ??= referenceOutputs(reference, source));
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        failure = err.message;
        unsized = err instanceof ShapeUnknownError;
        return undefined;
      }
      try {
        return { data: sourceName(source), samples: ref.samples, outputs: await compareWithReference(ref, model) };
      } catch (err) {
        // The input model ran on these inputs: a result that cannot is harm, not bad input.
        if (err instanceof InputError) throw new CheckError(`quality gate: the compressed model fails where the input model runs (${err.message})`, { cause: err });
        throw err;
      }
    },
    get failure() {
      return failure;
    },
    get unsized() {
      return unsized;
    },
    defaultFloor: !steps.some((s) => s.pass.kind === 'distill'),
    reference,
    source,
    async close() {
      await opened?.close();
    },
  };
}

/**
 * A lossy result nobody could compare may be harm: never a plain success. The failed check,
 * or undefined when the gate ran — or when only an input size was missing, which a warning on
 * stderr says (a free dim must not stop compression).
 */
export function unmeasuredFailure(gate: QualityGate, io: Pick<CliIO, 'stderr'>): CheckError | undefined {
  if (gate.failure === undefined) return undefined;
  const what = `quality gate: the output could not be compared with ${gate.reference} (${firstLine(gate.failure)})`;
  if (!gate.unsized) return new CheckError(`${what}; give --data, or --input-value/--input-shape so random inputs run the model, or --no-quality-gate to accept it unchecked`);
  io.stderr.write(`warning: ${what}; it is unchecked\n`);
  return undefined;
}
