/**
 * `shrinkray auto <model> -o <out> [--data d] [--max-accuracy-drop x]`: picks a pipeline from
 * the model and the data (src/recipe/plan.ts), says why, and runs it with `compress`'s code.
 *   labelled data   → static int8, layers back to float until the accuracy budget holds
 *   unlabelled data → static int8 kept if its top-1 agrees with the input's on ≥ 100 − x %
 *                     of samples, else dynamic int8 under the same gate
 *   no data         → weight-only (dynamic) int8
 */
import { CheckError } from '../../errors.ts';
import { summarizeModel } from '../../inspect/summary.ts';
import { loadModel } from '../../io/load.ts';
import type { ResolvedStep } from '../../pipeline/run.ts';
import { planCompression, type PlannedStep } from '../../recipe/plan.ts';
import { getPass } from '../../../passes/index.ts';
import type { CliIO } from '../io.ts';
import { dataKind } from './init.ts';
import { runCompress, type OutputArgs } from './compress.ts';

export interface AutoArgs extends OutputArgs {
  /** A calibration split apart from --data (the held-out set). */
  calib?: string;
}

const DEFAULT_DROP = 1;

function toSteps(planned: readonly PlannedStep[], calib: string | undefined, evalData: string | undefined): ResolvedStep[] {
  return planned.map((s) => {
    const options: Record<string, unknown> = { ...s.options };
    if (s.pass === 'quantize' && options.mode === 'static') options.calib = calib;
    if (options.maxAccuracyDrop !== undefined) options.evalData = evalData;
    return { pass: getPass(s.pass), options };
  });
}

export async function autoCommand(args: AutoArgs, io: CliIO): Promise<number> {
  const drop = args.maxAccuracyDrop ?? DEFAULT_DROP;
  const kind = await dataKind(args.data);
  const plan = planCompression(summarizeModel(await loadModel(args.input)), kind, drop);
  const calib = args.calib ?? args.data;
  const why = plan.why.map((w) => `auto: ${w}`);
  if (calib && calib === args.data && plan.steps.some((s) => s.options.mode === 'static')) {
    why.push('auto: calibrated on the evaluation data (give --calib for a separate split): the measured figures may be flattered');
  }
  const say = (lines: readonly string[]) => {
    if (!args.json && !args.quiet) io.stderr.write(`${lines.join('\n')}\n`);
  };
  say([...why, ...plan.steps.map((s) => `auto: ${s.pass}${Object.keys(s.options).length ? ` ${JSON.stringify(s.options)}` : ''}: ${s.why}`)]);
  // Without labels the drop is read as agreement points: the accuracy budget could not be measured.
  const gated: OutputArgs = plan.gate === 'accuracy' ? { ...args, maxAccuracyDrop: drop } : plan.gate === 'agreement' ? { ...args, maxAccuracyDrop: undefined, minAgreement: 100 - drop } : args;
  try {
    return await runCompress(gated, toSteps(plan.steps, calib, args.data), io, { notes: why });
  } catch (err) {
    // Unlabelled: static int8 that disagrees with the float model too often gives way to
    // dynamic int8, which leaves activations in float.
    if (!(err instanceof CheckError) || plan.gate !== 'agreement' || !/minAgreement/.test(err.message)) throw err;
    const fallback = `auto: static int8 missed the agreement gate (${err.message.replace(/^budget minAgreement failed: /, '')}); trying dynamic int8`;
    say([fallback]);
    const dynamic = plan.steps.map((s) => (s.pass === 'quantize' ? { ...s, options: { mode: 'dynamic' } } : s));
    return runCompress(gated, toSteps(dynamic, undefined, undefined), io, { notes: [...why, fallback] });
  }
}
