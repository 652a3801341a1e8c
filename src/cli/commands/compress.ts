/** `shrinkray compress <in> -o <out> --passes a,b`: load, run the pipeline, save atomically. */
import { existsSync, realpathSync } from 'node:fs';
import { CheckError, InputError, ShrinkrayError } from '../../errors.ts';
import { checkInputLoads, type GivenInputs } from '../../runtime/check.ts';
import { firstLine } from '../../runtime/ort.ts';
import { compareInChildProcess, verifySaved, type OutputDiff } from '../../runtime/verify.ts';
import { startSharedChild } from '../../runtime/child.ts';
import { externalDataFiles, loadModel } from '../../io/load.ts';
import { modelToBytes, stageModel, type StagedModel } from '../../io/save.ts';
import { openDataset } from '../../data/dataset.ts';
import { parseInputValues, type InputValues } from '../../data/input-values.ts';
import { measureModel } from '../../evaluate/measure.ts';
import { DEFAULT_MIN_SQNR_DB } from '../../evaluate/quality.ts';
import { hasLossyStep, openQualityGate, unmeasuredFailure, type QualityGate } from '../quality-gate.ts';
import { layerBytes } from '../../report/layers.ts';
import { writeFileAtomic, type ReportInput, type StageMeasurements } from '../../report/report.ts';
import type { Artifact } from '../../pipeline/pass.ts';
import type { Model } from '../../ir/model.ts';
import { planRandomFeeds, rolesByName, type FeedPlan, type InputPlan } from '../../check/input-roles.ts';
import { latencyForReport, type ReportLatency } from '../../evaluate/latency.ts';
import { validateModel } from '../../io/validate.ts';
import { checkShapesFit, parseInputShapes, shapesOf, type InputShapes } from '../../runtime/shapes.ts';
import { runPipeline, type PipelineResult, type ResolvedStep } from '../../pipeline/run.ts';
import { getPass } from '../../../passes/index.ts';
import type { CliIO } from '../io.ts';
import { finishReport, writeFailedReport, type ReportArgs } from '../report-options.ts';
import { pipelineProgress } from '../progress.ts';
import { phase } from '../../profile.ts';
import { bytesOnDisk, planRuns } from '../large-model.ts';

/** What every model-writing command takes. */
export interface OutputArgs extends ReportArgs {
  input: string;
  output: string;
  externalData: boolean;
  /** true: compare outputs on random inputs; false: skip; undefined: by size (large-model.ts). */
  verify?: boolean;
  /** true: run the quality gate; false: skip it; undefined: by size (large-model.ts). */
  qualityGate?: boolean;
}

export interface CompressArgs extends OutputArgs {
  passes: string[];
  /** `pass.option=value` settings. */
  set: string[];
}

/** Differences tolerated after passes that must not change results (float reassociation). */
const VERIFY_TOLERANCE = 1e-4;

/** Parses `--set cleanup.fold=false` into per-pass option objects. */
export function parseSettings(settings: readonly string[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const s of settings) {
    const m = /^([\w-]+)\.([\w-]+)=(.*)$/.exec(s);
    if (!m) throw new InputError(`--set '${s}' is not of the form <pass>.<option>=<value>`);
    const [, pass, key, value] = m;
    out.set(pass, { ...out.get(pass), [key]: value });
  }
  return out;
}

export function pipelineSteps(passes: readonly string[], settings: readonly string[]): ResolvedStep[] {
  const options = parseSettings(settings);
  for (const name of options.keys()) {
    if (!passes.includes(name)) throw new InputError(`--set names pass '${name}', which is not in --passes (${passes.join(',')})`);
  }
  return passes.map((name) => ({ pass: getPass(name), options: options.get(name) }));
}

export async function compressCommand(args: CompressArgs, io: CliIO): Promise<number> {
  // --min-sqnr is the report's floor and, unless --set says otherwise, the floor static quantize falls back to.
  const steps = pipelineSteps(args.passes, args.set).map((s) =>
    args.minSqnr !== undefined && 'minSqnr' in s.pass.options && s.options?.minSqnr === undefined ? { ...s, options: { ...s.options, minSqnr: args.minSqnr } } : s,
  );
  return runCompress(args, steps, io);
}

/**
 * Loads, measures, runs `steps`, stages the output, verifies and measures it, reports, then
 * commits it. `extra` goes into the report (a recipe's provenance, notes put first).
 */
export async function runCompress(args: OutputArgs, steps: readonly ResolvedStep[], io: CliIO, extra: Pick<ReportInput, 'provenance' | 'notes'> = {}): Promise<number> {
  if (existsSync(args.output) && existsSync(args.input) && realpathSync(args.output) === realpathSync(args.input)) {
    throw new InputError(`${args.output}: refusing to overwrite the input model`);
  }
  const exporter = steps.at(-1)?.pass;
  if (exporter?.kind === 'export' && 'extension' in exporter && !args.output.endsWith(exporter.extension)) {
    throw new InputError(`${args.output}: the ${exporter.name} pass writes a ${exporter.extension} file; name the output so`);
  }
  const given = parseInputShapes(args.inputShape, args.dim);
  // The output is checked in onnxruntime in the shared child (a pass's runtime check, or the
  // saved file's verification): its start-up overlaps loading and validation.
  if (exporter?.kind !== 'export') startSharedChild();
  const model = await phase('load', () => loadModel(args.input));
  phase('validate', () => validateModel(model, args.input));
  const inputValues = await parseInputValues(args.inputValue ?? []);
  checkShapesFit(model, args.input, given, inputValues);
  const dataset = args.data ? await openDataset(args.data, { inputValues }) : undefined;
  let staged: StagedModel | undefined;
  let gate: QualityGate | undefined;
  try {
    const shapes = shapesOf(model, given, dataset);
    const measure = { dataset, limit: args.limit, batchSize: args.batchSize, threads: args.threads, compressedSizes: args.compressedSizes };
    const inputFiles = externalDataFiles(model, args.input);
    const plan = planRuns(args, bytesOnDisk([args.input, ...inputFiles]));
    if (plan.quality) gate = await openQualityGate(args.input, steps, { dataset, limit: args.limit, batchSize: args.batchSize, inputValues, shapes });
    const input = await measureModel('input', model, args.input, { ...measure, keepOutputs: true, dataFiles: inputFiles });
    // Before the passes: the input's roles (indices, shapes) hold for the output's same inputs.
    const feedPlan = plan.latency ? planRandomFeeds(model) : undefined;
    // Before the passes: they edit `model` in place.
    const stages: StageMeasurements[] = [{ ...input.stage, layers: layerBytes(model) }];
    const compare = { ...measure, baseline: input.outputs };
    const progress = pipelineProgress(io, args.json || args.quiet);
    // Measuring the output loads and runs it: that is the last pass's runtime check, done once.
    const outputRuns = (feedPlan !== undefined && 'inputs' in feedPlan) || dataset !== undefined;
    const passNotes: string[] = [];
    let result: PipelineResult;
    try {
      result = await phase('passes', () => runPipeline(model, steps, {
        ...progress,
        outputRunByCaller: outputRuns,
        shapes,
        inputValues,
        ...(gate && { judgedOn: gate.source }),
        onNote(m) {
          passNotes.push(m);
          progress.onNote?.(m);
        },
        async afterPass(m, r) {
          // The last pass's model is the output: measured once, from the saved file, below.
          if (stages.length === steps.length && !args.externalData) return;
          const bytes = modelToBytes(m);
          const { stage } = await measureModel(r.pass, m, bytes, compare);
          const quality = await gate?.measure(bytes);
          stages.push({ ...stage, seconds: r.seconds, ...(quality && { quality }) });
        },
      }));
    } catch (err) {
      if (err instanceof CheckError) await writeFailedReport(args, { ...extra, input: args.input, output: args.output, stages, notes: [...(extra.notes ?? []), ...passNotes] }, err, io);
      if (!(err instanceof ShrinkrayError)) await blameInput(args.input);
      throw err;
    }
    if (result.artifact) {
      // Verified by the pass; written under a temporary name and moved into place.
      await writeFileAtomic(args.output, result.artifact.bytes);
      const notes = [...(extra.notes ?? []), ...result.notes, `${result.artifact.format}: ${result.artifact.bytes.byteLength} bytes written to ${args.output}`, ...verificationNotes(result.artifact)];
      await finishReport(args, { ...extra, input: args.input, output: args.output, stages, notes }, io);
      return 0;
    }
    // The output is staged, checked and reported on, and moved into place only when every
    // check and budget passed: a failed run leaves its report, never its model.
    staged = await phase('save', () => stageModel(model, args.output, { externalData: args.externalData || undefined }));
    const outputFile = staged.stagedPath;
    const dataFiles = staged.stagedExternalPath ? [staged.stagedExternalPath] : [];
    let output: StageMeasurements;
    let verifyNote: string | undefined;
    let timed: ReportLatency | undefined;
    try {
      if (plan.verify && steps.every((s) => s.pass.kind === 'cleanup')) {
        verifyNote = await phase('verify', () => (plan.verify === 'saved' ? verifySaved(model, outputFile).then(() => plan.verifyNote) : verifyUnchanged(args.input, outputFile, model, { shapes, values: inputValues })));
        if (verifyNote) progress.onNote?.(verifyNote);
      }
      output = (await measureModel('output', model, outputFile, { ...compare, dataFiles })).stage;
      if (feedPlan) timed = await phase('latency', () => timeInputAndOutput(args, outputFile, feedPlan, shapes, inputValues));
      for (const n of timed?.notes ?? []) progress.onNote?.(n);
      const quality = await gate?.measure(outputFile);
      if (quality) output.quality = quality;
    } catch (err) {
      // Messages name the output as the user knows it, not the staging folder it sits in.
      if (err instanceof Error) err.message = err.message.split(outputFile).join(args.output);
      // Measuring ran the last pass's runtime check (outputRunByCaller): a refusal is a failed check.
      // (Only a refusal of the output: the input model refused by verification stays bad input.)
      const failed = err instanceof InputError && err.message.startsWith(`onnxruntime rejected ${args.output}`) ? new CheckError(err.message, { cause: err }) : err;
      if (failed instanceof CheckError) await writeFailedReport(args, { ...extra, input: args.input, output: args.output, stages, notes: [...(extra.notes ?? []), ...passNotes] }, failed, io);
      throw failed;
    }
    if (timed?.stages) {
      stages[0] = { ...stages[0]!, latency: timed.stages[0] };
      output = { ...output, latency: timed.stages[1] };
    }
    // Not only in the report: a slower output must not pass as a plain success.
    for (const w of timed?.warnings ?? []) io.stderr.write(`${w}\n`);
    const last = result.stages.at(-1);
    if (last && stages.length === steps.length) stages.push({ ...output, name: last.pass, latency: undefined, seconds: last.seconds });
    stages.push({ ...output, layers: layerBytes(model) });
    const notes = [
      ...result.stages.map((r) => `${r.pass}: ${Object.entries(r.changes).map(([k, v]) => `${k} ${v}`).join(', ') || 'no change'}`),
      ...result.notes,
      ...(verifyNote ? [verifyNote] : []),
      ...(timed ? [...timed.notes, ...timed.warnings] : []),
      ...(plan.latencyNote ? [plan.latencyNote] : []),
      ...(plan.qualityNote && hasLossyStep(steps) ? [plan.qualityNote] : []),
    ];
    // The quality floor holds after a lossy pass unless the user set another; what could not be
    // measured fails the run (unmeasuredFailure) unless the gate was turned off.
    if (gate && gate.reference !== args.input) notes.push(`quality gate: outputs compared with the teacher ${gate.reference}, not the input model`);
    if (gate?.failure !== undefined) notes.push(`quality gate: outputs not compared with the input model (${gate.failure})`);
    else if (gate && !gate.defaultFloor && args.minSqnr === undefined) notes.push(`quality gate: SQNR reported, not held to the default ${DEFAULT_MIN_SQNR_DB} dB floor in a run with distillation (--min-sqnr gates it)`);
    const minSqnr = args.minSqnr ?? (gate?.defaultFloor && gate.failure === undefined ? DEFAULT_MIN_SQNR_DB : undefined);
    // (A floor the user gave fails instead as a budget that cannot be checked.)
    const unmeasured = gate && args.minSqnr === undefined ? unmeasuredFailure(gate, io) : undefined;
    if (unmeasured) {
      await writeFailedReport(args, { ...extra, input: args.input, output: args.output, stages, notes: [...(extra.notes ?? []), ...notes] }, unmeasured, io);
      throw unmeasured;
    }
    await phase('report', () => finishReport({ ...args, minSqnr }, { ...extra, input: args.input, output: args.output, stages, notes: [...(extra.notes ?? []), ...notes] }, io));
    // One turn of the event loop first: a SIGINT/SIGTERM that arrived while the last steps ran
    // only in microtasks is handled now (bin removes the staging folder), not after the commit.
    await new Promise((resolve) => setImmediate(resolve));
    staged.commit();
    return 0;
  } finally {
    staged?.abort(); // nothing once committed
    await gate?.close();
    await dataset?.close();
  }
}

/**
 * The input and the staged output timed interleaved (evaluate/latency.ts). An output failing
 * on random inputs the input runs on is a failed check; any other failure is a note.
 */
async function timeInputAndOutput(args: OutputArgs, staged: string, plan: FeedPlan, shapes: InputShapes, inputValues: InputValues): Promise<ReportLatency> {
  if ('unverifiable' in plan) return { notes: [`latency not measured: ${plan.unverifiable}`], warnings: [] };
  const roles = rolesByName(plan.inputs);
  const models = [{ source: args.input, label: args.input }, { source: staged, label: args.output }] as const;
  return latencyForReport(models, { threads: args.latencyThreads, roles, shapes, values: inputValues, candidateMustRun: true });
}

/**
 * A pass failed with an untyped error. Passes run parts of the model in onnxruntime (cleanup
 * folds constants there): when onnxruntime refuses the input model itself (an op version it
 * has no kernel for, a node its checker rejects), that is bad input, exit 2 with its message,
 * not an internal error. Checked only on this failure path: loading a large model costs seconds.
 */
async function blameInput(input: string): Promise<void> {
  await checkInputLoads(input); // throws InputError "onnxruntime rejected …"
}

/**
 * Compares the staged output with the input on random inputs valid for each input's role
 * (indices inside their table, every dtype; NaN equal to NaN). A model that computes something
 * else is worse than none: CheckError, and the caller aborts the staged output. When the input
 * model itself cannot be judged this way (an input that sets a shape, onnxruntime failing on
 * random inputs), that is no fault of the output: the result is a "could not verify" note.
 */
async function verifyUnchanged(input: string, staged: string, model: Model, given: GivenInputs): Promise<string | undefined> {
  const plan = planRandomFeeds(model);
  if ('unverifiable' in plan) return `could not verify the output on random inputs: ${plan.unverifiable}`;
  let diffs: OutputDiff[];
  try {
    diffs = await compareInChildProcess(input, staged, { roles: rolesByName(plan.inputs), ...given });
  } catch (err) {
    const failure = await inputFailure(input, plan.inputs, given);
    if (failure) return `could not verify the output on random inputs: ${failure}`;
    throw new CheckError(`verification failed: the output model fails where the input model runs (${firstLine(err)})`, { cause: err });
  }
  for (const d of diffs) {
    if (!(d.maxAbsDiff <= VERIFY_TOLERANCE * Math.max(1, d.maxAbs))) {
      throw new CheckError(`verification failed: output '${d.output}' differs by ${d.maxAbsDiff} from the input model's on random inputs`);
    }
  }
  return undefined;
}

/**
 * Why the input model alone cannot run on these random inputs, if it cannot. An input model
 * onnxruntime refuses to load is bad input, not an unverifiable one: that throws.
 */
async function inputFailure(input: string, plan: readonly InputPlan[], given: GivenInputs): Promise<string | undefined> {
  await checkInputLoads(input);
  try {
    await compareInChildProcess(input, input, { roles: rolesByName(plan), ...given });
    return undefined;
  } catch (err) {
    return firstLine(err);
  }
}

/** What the export pass's own runtime measured against onnxruntime, for the report. */
function verificationNotes(artifact: Artifact): string[] {
  const v = artifact.details?.verification as { outputs?: Array<{ name: string; maxAbsError: number; cosine: number }>; skipped?: string } | undefined;
  if (v?.skipped) return [`${artifact.format}: not verified (${v.skipped})`];
  return (v?.outputs ?? []).map((o) => `${artifact.format}: output '${o.name}' vs onnxruntime: max abs error ${o.maxAbsError.toExponential(2)}, cosine ${o.cosine.toFixed(6)}`);
}
