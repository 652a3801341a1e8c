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
import type { StageMeasurements } from '../../report/report.ts';
import type { CliIO } from '../io.ts';
import { finishReport, type ReportArgs } from '../report-options.ts';

export interface EvalArgs extends ReportArgs {
  model: string;
  baseline?: string;
}

export async function evalCommand(args: EvalArgs, io: CliIO): Promise<number> {
  const inputValues = await parseInputValues(args.inputValue ?? []);
  const dataset = args.data ? await openDataset(args.data, { inputValues }) : undefined;
  try {
    const common = { dataset, limit: args.limit, batchSize: args.batchSize, threads: args.threads, compressedSizes: args.compressedSizes };
    const stages: StageMeasurements[] = [];
    let baselineOutputs: Float32Array | undefined;
    if (args.baseline) {
      const baseline = await loadModel(args.baseline);
      const measured = await measureModel('baseline', baseline, args.baseline, { ...common, keepOutputs: true, dataFiles: externalDataFiles(baseline, args.baseline) });
      stages.push({ ...measured.stage, layers: layerBytes(baseline) });
      baselineOutputs = measured.outputs;
    }
    const model = await loadModel(args.model);
    const { stage } = await measureModel('model', model, args.model, { ...common, baseline: baselineOutputs, dataFiles: externalDataFiles(model, args.model) });
    stages.push({ ...stage, layers: layerBytes(model) });
    const notes: string[] = [];
    if (args.latency) {
      // With a baseline, both are timed interleaved: the speed-up is a paired measurement.
      const plan = planRandomFeeds(model);
      const roles = 'inputs' in plan ? rolesByName(plan.inputs) : undefined;
      const models = [...(args.baseline ? [{ source: args.baseline, label: args.baseline }] : []), { source: args.model, label: args.model }] as [LatencyModel] | [LatencyModel, LatencyModel];
      const timed = await latencyForReport(models, { threads: args.latencyThreads, roles, values: inputValues });
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
