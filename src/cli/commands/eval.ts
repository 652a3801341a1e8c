/**
 * `shrinkray eval <model> --data <ds> [--baseline <model>]`: accuracy (labelled data) or
 * agreement with a baseline, latency, sizes, parameters and sparsity, as a report.
 */
import { openDataset } from '../../data/dataset.ts';
import { planRandomFeeds, rolesByName } from '../../check/input-roles.ts';
import { latencyForReport, type LatencyModel } from '../../evaluate/latency.ts';
import { parseInputValues } from '../../data/input-values.ts';
import { measureModel } from '../../evaluate/measure.ts';
import { externalDataFiles, loadModel } from '../../io/load.ts';
import { layerBytes } from '../../report/layers.ts';
import { checkShapesFit, parseInputShapes, shapesOf } from '../../runtime/shapes.ts';
import type { StageMeasurements } from '../../report/report.ts';
import type { CliIO } from '../io.ts';
import { finishReport, type ReportArgs } from '../report-options.ts';
import { bytesOnDisk, planRuns } from '../large-model.ts';

export interface EvalArgs extends ReportArgs {
  model: string;
  baseline?: string;
}

export async function evalCommand(args: EvalArgs, io: CliIO): Promise<number> {
  const given = parseInputShapes(args.inputShape, args.dim);
  const inputValues = await parseInputValues(args.inputValue ?? []);
  const dataset = args.data ? await openDataset(args.data, { inputValues }) : undefined;
  try {
    const baseline = args.baseline ? await loadModel(args.baseline) : undefined;
    const model = await loadModel(args.model);
    const modelFiles = [args.model, ...externalDataFiles(model, args.model)];
    const baselineFiles = baseline && args.baseline ? [args.baseline, ...externalDataFiles(baseline, args.baseline)] : [];
    // Judged on the larger model: a speed-up needs both timed.
    const plan = planRuns(args, Math.max(bytesOnDisk(modelFiles), bytesOnDisk(baselineFiles)));
    const common = { dataset, limit: args.limit, batchSize: args.batchSize, threads: args.threads, compressedSizes: args.compressedSizes };
    const stages: StageMeasurements[] = [];
    let baselineOutputs: Float32Array | undefined;
    if (baseline && args.baseline) {
      checkShapesFit(baseline, args.baseline, given, inputValues);
      const measured = await measureModel('baseline', baseline, args.baseline, { ...common, keepOutputs: true, dataFiles: baselineFiles.slice(1) });
      stages.push({ ...measured.stage, layers: layerBytes(baseline) });
      baselineOutputs = measured.outputs;
    }
    checkShapesFit(model, args.model, given, inputValues);
    const { stage } = await measureModel('model', model, args.model, { ...common, baseline: baselineOutputs, dataFiles: modelFiles.slice(1) });
    stages.push({ ...stage, layers: layerBytes(model) });
    const notes: string[] = plan.latencyNote ? [plan.latencyNote] : [];
    if (plan.latency) {
      // With a baseline, both are timed interleaved: the speed-up is a paired measurement.
      const feedPlan = planRandomFeeds(model);
      const roles = 'inputs' in feedPlan ? rolesByName(feedPlan.inputs) : undefined;
      const models = [...(args.baseline ? [{ source: args.baseline, label: args.baseline }] : []), { source: args.model, label: args.model }] as [LatencyModel] | [LatencyModel, LatencyModel];
      const timed = await latencyForReport(models, { threads: args.latencyThreads, roles, shapes: shapesOf(model, given, dataset), values: inputValues });
      timed.stages?.forEach((l, i) => (stages[i] = { ...stages[i]!, latency: l }));
      for (const w of timed.warnings) io.stderr.write(`${w}\n`);
      notes.push(...timed.notes, ...timed.warnings);
    }
    await finishReport(args, { input: args.baseline ?? args.model, output: args.model, stages, notes }, io);
    return 0;
  } finally {
    await dataset?.close();
  }
}
