/** `shrinkray compress <in> -o <out> --passes a,b`: load, run the pipeline, save atomically. */
import { existsSync, realpathSync, rmSync } from 'node:fs';
import { CheckError, InputError } from '../../errors.ts';
import { compareOnRandomInputs } from '../../runtime/verify.ts';
import { externalDataFiles, loadModel } from '../../io/load.ts';
import { modelToBytes, saveModel, type SaveResult } from '../../io/save.ts';
import { openDataset } from '../../data/dataset.ts';
import { measureModel, type MeasureOptions } from '../../evaluate/measure.ts';
import type { Model } from '../../ir/model.ts';
import { layerBytes } from '../../report/layers.ts';
import type { ReportInput, StageMeasurements } from '../../report/report.ts';
import { validateModel } from '../../io/validate.ts';
import { runPipeline, type PipelineResult, type ResolvedStep } from '../../pipeline/run.ts';
import { getPass } from '../../../passes/index.ts';
import type { CliIO } from '../io.ts';
import { finishReport, writeFailedReport, type ReportArgs } from '../report-options.ts';
import { pipelineProgress } from '../progress.ts';

/** What every model-writing command takes. */
export interface OutputArgs extends ReportArgs {
  input: string;
  output: string;
  externalData: boolean;
  verify: boolean;
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
  return runCompress(args, pipelineSteps(args.passes, args.set), io);
}

/** Loads, measures, runs `steps`, saves, verifies, measures again and reports. `extra` goes into the report (a recipe's provenance, notes put first). */
export async function runCompress(args: OutputArgs, steps: readonly ResolvedStep[], io: CliIO, extra: Pick<ReportInput, 'provenance' | 'notes'> = {}): Promise<number> {
  if (existsSync(args.output) && existsSync(args.input) && realpathSync(args.output) === realpathSync(args.input)) {
    throw new InputError(`${args.output}: refusing to overwrite the input model`);
  }
  const model = await loadModel(args.input);
  validateModel(model);
  const dataset = args.data ? await openDataset(args.data) : undefined;
  try {
    const measure = { dataset, limit: args.limit, batchSize: args.batchSize, threads: args.threads, compressedSizes: args.compressedSizes };
    const latency = args.latency ? {} : (false as const);
    const input = await measureModel('input', model, args.input, { ...measure, latency, keepOutputs: true, dataFiles: externalDataFiles(model, args.input) });
    // Before the passes: they edit `model` in place.
    const stages: StageMeasurements[] = [{ ...input.stage, layers: layerBytes(model) }];
    const compare = { ...measure, baseline: input.outputs };
    const progress = pipelineProgress(io, args.json || args.quiet);
    // Measuring the output loads and runs it: that is the last pass's runtime check, done once.
    const outputRuns = args.latency || dataset !== undefined;
    const passNotes: string[] = [];
    let result: PipelineResult;
    try {
      result = await runPipeline(model, steps, {
        ...progress,
        outputRunByCaller: outputRuns,
        onNote(m) {
          passNotes.push(m);
          progress.onNote?.(m);
        },
        async afterPass(m, r) {
          // The last pass's model is the output: measured once, from the saved file, below.
          if (stages.length === steps.length && !args.externalData) return;
          const { stage } = await measureModel(r.pass, m, modelToBytes(m), { ...compare, latency: false });
          stages.push({ ...stage, seconds: r.seconds });
        },
      });
    } catch (err) {
      if (err instanceof CheckError) await writeFailedReport(args, { ...extra, input: args.input, output: args.output, stages, notes: [...(extra.notes ?? []), ...passNotes] }, err, io);
      throw err;
    }
    const saved = await saveModel(model, args.output, { externalData: args.externalData || undefined });
    if (args.verify && steps.every((s) => s.pass.kind === 'cleanup')) await verifyUnchanged(args.input, saved);
    const output = await measureOutput(model, saved, { ...compare, latency });
    const last = result.stages.at(-1);
    if (last && stages.length === steps.length) stages.push({ ...output, name: last.pass, latency: undefined, seconds: last.seconds });
    stages.push({ ...output, layers: layerBytes(model) });
    const notes = [
      ...result.stages.map((r) => `${r.pass}: ${Object.entries(r.changes).map(([k, v]) => `${k} ${v}`).join(', ') || 'no change'}`),
      ...result.notes,
    ];
    await finishReport(args, { ...extra, input: args.input, output: args.output, stages, notes: [...(extra.notes ?? []), ...notes] }, io);
    return 0;
  } finally {
    await dataset?.close();
  }
}

/** Measures the saved output; if it cannot be run or measured, it is removed (a model nobody could run is worse than none). */
async function measureOutput(model: Model, saved: SaveResult, opts: MeasureOptions): Promise<StageMeasurements> {
  try {
    return (await measureModel('output', model, saved.path, { ...opts, dataFiles: saved.externalPath ? [saved.externalPath] : [] })).stage;
  } catch (err) {
    removeSaved(saved);
    if (err instanceof InputError && err.message.startsWith('onnxruntime rejected')) throw new CheckError(err.message, { cause: err });
    throw err;
  }
}

function removeSaved(saved: SaveResult): void {
  for (const f of [saved.path, saved.externalPath]) if (f) rmSync(f, { force: true });
}

async function verifyUnchanged(input: string, saved: SaveResult): Promise<void> {
  for (const d of await compareOnRandomInputs(input, saved.path)) {
    if (!(d.maxAbsDiff <= VERIFY_TOLERANCE * Math.max(1, d.maxAbs))) {
      // A model that computes something else is worse than none: do not leave it behind.
      removeSaved(saved);
      throw new CheckError(`verification failed: output '${d.output}' differs by ${d.maxAbsDiff} from the input model's on random inputs`);
    }
  }
}
