/**
 * The CLI: declares commands and their flags, loads each command's module on demand, and
 * turns errors into one line and an exit code. Only `bin/` exits the process.
 *   0 success · 1 a budget or check failed · 2 bad usage or bad input · 3 internal error
 */
import yargs, { type Argv } from 'yargs';
import { ShrinkrayError } from '../errors.ts';
import { processIO, type CliIO } from './io.ts';
import { reportOptions } from './report-flags.ts';
import { passes } from '../../passes/index.ts';
import { passFlags } from './pass-flags.ts';
import { phaseLines } from '../profile.ts';

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);

function globalOptions(y: Argv) {
  return y
    .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output on stdout' })
    .option('verbose', { type: 'boolean', default: false, describe: 'Show stack traces on errors' })
    .option('quiet', { type: 'boolean', default: false, describe: 'No progress output' });
}

export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  let code = 0;
  const run = (fn: () => Promise<number>) => async () => {
    code = await fn();
  };
  const verbose = argv.includes('--verbose');
  const cli = globalOptions(yargs([...argv]))
    .scriptName('shrinkray')
    .usage('$0 <command> [options]\n\nCompress ONNX models for edge devices, and prove it with numbers.')
    .command(
      'inspect <model>',
      'Show opsets, ops, parameters, bytes, dtypes and sparsity of a model',
      (y) => y.positional('model', { type: 'string', demandOption: true }).option('top', { type: 'number', default: 15, describe: 'Layers to list' }),
      async (a) => run(async () => (await import('./commands/inspect.ts')).inspectCommand(a as never, io))(),
    )
    .command(
      'compress <input>',
      'Run passes on a model, write the result and a report',
      (y) =>
        outputOptions(y)
          .option('passes', { type: 'string', default: 'cleanup', coerce: list, describe: 'Comma-separated passes, in order' })
          .option('set', { type: 'string', array: true, default: [], describe: 'Pass option: <pass>.<option>=<value> (repeatable)' }),
      async (a) => run(async () => (await import('./commands/compress.ts')).compressCommand(a as never, io))(),
    )
    .command(
      'eval <model>',
      'Measure accuracy (or agreement with --baseline), latency, size and sparsity',
      (y) =>
        reportOptions(
          y.positional('model', { type: 'string', demandOption: true }).option('baseline', { type: 'string', describe: 'Reference model: deltas, agreement and budgets are against it' }),
        ),
      async (a) => run(async () => (await import('./commands/eval.ts')).evalCommand(a as never, io))(),
    )
    .command(
      'analyze <model>',
      'Per-layer pruning sensitivity: accuracy vs sparsity, and suggested per-layer fractions',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true })
          .option('data', { type: 'string', describe: 'Data set (labelled: accuracy; unlabelled: agreement with the model)' })
          .option('method', { choices: ['magnitude', 'channels'] as const, default: 'magnitude' as const, describe: 'Unstructured weights, or whole output channels' })
          .option('sparsities', { type: 'string', default: '0.25,0.5,0.75,0.9', coerce: (v: string) => list(v).map(Number), describe: 'Fractions tried per layer' })
          .option('max-drop', { type: 'number', default: 1, describe: 'Accuracy points each layer may cost, for the suggestion' })
          .option('limit', { type: 'number', default: 1000, describe: 'Samples used (0: all)' })
          .option('report', { type: 'string', array: true, default: [], describe: 'Write the table: a .json and/or .md path' }),
      async (a) => run(async () => (await import('./commands/analyze.ts')).analyzeCommand(a as never, io))(),
    )
    .command(
      'export <model>',
      'Write a .tflite file (float32, float16, dynamic-range or full int8), verified in the TFLite interpreter',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true })
          .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Output .tflite path' })
          .option('kind', { choices: ['float32', 'float16', 'dynamic', 'int8'] as const, default: 'float32' as const, describe: 'int8 needs a calibrated QDQ model (shrinkray quantize --calib)' })
          .option('io', { choices: ['float', 'int8'] as const, default: 'float' as const, describe: 'Input/output type of an int8 export' })
          .option('keep-nchw-io', { type: 'boolean', default: false, describe: 'Keep 4-D inputs/outputs NCHW instead of NHWC' })
          .option('batch', { type: 'number', default: 1, describe: 'Size given to symbolic (batch) dimensions' })
          .option('cleanup', { type: 'boolean', default: true, describe: 'Run cleanup first (--no-cleanup to skip)' })
          .option('verify', { type: 'boolean', default: true, describe: 'Compare with onnxruntime in the TFLite interpreter before writing' }),
      async (a) => run(async () => (await import('./commands/export.ts')).exportCommand(a as never, io))(),
    )
    .command(
      'distill',
      'Knowledge distillation: train --student on --teacher’s outputs over --data (labels optional), write -o',
      (y) => {
        const base = reportOptions(y)
          .option('student', { type: 'string', demandOption: true, describe: 'Student .onnx (e.g. a pruned or int8 model)' })
          .option('teacher', { type: 'string', demandOption: true, describe: 'Teacher .onnx' })
          .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Output .onnx path' })
          .option('eval-data', { type: 'string', describe: 'Held-out data set the report measures accuracy on (never the training data)' })
          .option('external-data', { type: 'boolean', default: false, describe: 'Write tensor data to <output>.data' });
        const taken = new Set([...Object.keys((base as unknown as { getOptions(): { key: object } }).getOptions().key), 'train']);
        return passFlags(base, passes.distill, taken);
      },
      async (a) => run(async () => (await import('./commands/distill.ts')).distillCommand(a as never, io))(),
    )
    .command(
      'passes',
      'List the available passes and their options',
      (y) => y,
      async (a) => run(async () => (await import('./commands/passes.ts')).passesCommand(a as never, io))(),
    )
  for (const pass of Object.values(passes)) {
    // cleanup is what `compress` runs by default; export and distill have their own commands.
    if (pass.name === 'cleanup' || pass.kind === 'export' || pass.name === 'distill') continue;
    cli.command(
      `${pass.name} <input>`,
      `${pass.description} (the ${pass.name} pass alone; see \`shrinkray passes\`)`,
      (y) => {
        const withOutput = outputOptions(y);
        // yargs knows every flag declared so far; its typings omit getOptions().
        const taken = new Set(Object.keys((withOutput as unknown as { getOptions(): { key: object } }).getOptions().key));
        return passFlags(withOutput, pass, taken);
      },
      async (a) => run(async () => (await import('./commands/pass.ts')).passCommand(pass, a as never, io))(),
    );
  }
  cli.command('diff <base> <head>', 'Compare two JSON reports (base vs head): size, accuracy and latency changes as Markdown, budgets applied to head against base', (y) => y.positional('base', { type: 'string', demandOption: true }).positional('head', { type: 'string', demandOption: true }).option('max-accuracy-drop', { type: 'number', describe: 'Budget: top-1 points head may lose against base' }).option('max-size', { type: 'string', describe: 'Budget: head output size (300KB, 2MiB) or growth over base (+5%)' }).option('min-speedup', { type: 'string', array: true, describe: 'Budget: head speed-up over base; 1 gates batch 1 and 32, b1:x or b32:x one' }).option('report', { type: 'string', array: true, default: [], describe: 'Also write the diff: .md and/or .json' }), async (a) => run(async () => (await import('./commands/diff.ts')).diffCommand(a as never, io))());
  cli.command('run <recipe>', 'Run the job a recipe (YAML or JSON) describes: input, passes, data, budgets, outputs, reports', (y) => y.positional('recipe', { type: 'string', demandOption: true }), async (a) => run(async () => (await import('./commands/run.ts')).runCommand(a as never, io))());
  cli.command('init <model>', 'Write a commented starter recipe for a model (and data set), ready to run', (y) => y.positional('model', { type: 'string', demandOption: true }).option('data', { type: 'string', describe: 'Data set: labelled gives accuracy, unlabelled agreement' }).option('output', { alias: 'o', type: 'string', default: 'shrinkray.yaml', describe: 'Recipe path' }).option('max-accuracy-drop', { type: 'number', default: 1, describe: 'Top-1 points the result may lose' }).option('force', { type: 'boolean', default: false, describe: 'Overwrite an existing recipe' }), async (a) => run(async () => (await import('./commands/init.ts')).initCommand(a as never, io))());
  cli.command('auto <input>', 'Pick a pipeline for the model and data (labelled: int8 with accuracy fallback; unlabelled: int8 gated by agreement; none: dynamic int8), run it and say why', (y) => outputOptions(y).option('calib', { type: 'string', describe: 'Calibration data apart from --data (the held-out set)' }), async (a) => run(async () => (await import('./commands/auto.ts')).autoCommand(a as never, io))());
  cli
    .demandCommand(1, 'Name a command.')
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs spreads some messages over lines ("Invalid values:\n  Argument: …"): keep one.
      throw err ?? new ShrinkrayError((msg ?? 'bad usage').replace(/:?\s*\n\s*/g, ': ').trim(), 2);
    })
    .help()
    .version(false);
  function outputOptions<T>(y: Argv<T>) {
    return reportOptions(y)
      .positional('input', { type: 'string', demandOption: true })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'Output .onnx path' })
      .option('external-data', { type: 'boolean', default: false, describe: 'Write tensor data to <output>.data' })
      .option('verify', { type: 'boolean', describe: 'After cleanup-only runs, compare outputs with the input model on random inputs (default: up to --large-model; above it the saved file is checked without running it; --no-verify skips)' })
      .option('quality-gate', { type: 'boolean', describe: 'After a lossy pass, compare outputs with the input model (--min-sqnr floor; default: up to --large-model; --no-quality-gate skips it, and accepts a result that cannot be compared)' });
  }
  try {
    await cli.parseAsync();
    return code;
  } catch (err) {
    return reportError(err, io, verbose);
  } finally {
    if (process.env.SHRINKRAY_PROFILE) io.stderr.write(`phases:\n${phaseLines().join('\n')}\n`);
  }
}

/** Prints `err` as one line (the stack too with --verbose) and gives its exit code: 1 or 2 for ours, 3 for a bug. */
export function reportError(err: unknown, io: CliIO, verbose = false): number {
  if (err instanceof ShrinkrayError) {
    io.stderr.write(`shrinkray: ${err.message.split('\n')[0]}\n`);
    if (verbose && err.stack) io.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  io.stderr.write(`shrinkray: internal error: ${(err as Error).message?.split('\n')[0] ?? String(err)}${verbose ? '' : ' (run with --verbose for details)'}\n`);
  if (verbose) io.stderr.write(`${(err as Error).stack ?? ''}\n`);
  return 3;
}
