/**
 * The flags of commands that measure and report (data set, report files, budgets), apart from
 * the code that builds reports: declaring the CLI loads no report or runtime module.
 */
import type { Argv } from 'yargs';
import { LARGE_MODEL_DEFAULT } from './large-model.ts';

export function reportOptions<T>(y: Argv<T>) {
  return y
    .option('data', { type: 'string', describe: 'Data set (.npz with x and y, or one array per model input by name; folder of .npy; image folder)' })
    .option('input-value', { type: 'string', array: true, default: [], describe: 'A value fed whole to a model input: NAME=VALUE (fills its shape) or NAME=file.npy (repeatable)' })
    .option('limit', { type: 'number', describe: 'Use at most this many samples of the data set' })
    .option('batch-size', { type: 'number', default: 64, describe: 'Samples per inference call' })
    .option('latency', { type: 'boolean', describe: 'Measure latency at batch 1 and 32, input and output interleaved in one process (default: for models up to --large-model; --no-latency skips it)' })
    .option('latency-threads', { type: 'number', describe: 'onnxruntime intra-op threads for latency timing (default 1, stated in the report)' })
    .option('large-model', { type: 'string', default: LARGE_MODEL_DEFAULT, describe: 'Above this size, latency and verification on random inputs are left out unless --latency / --verify ask for them (opening 1 GiB in onnxruntime takes ~12 s and ~1.1 GiB)' })
    .option('input-shape', { type: 'string', array: true, default: [], describe: 'Size of an input with free dims: NAME:D1,D2,… (repeatable; a free batch dim still varies)' })
    .option('dim', { type: 'string', array: true, default: [], describe: 'Size of a named free dim: SYMBOL=VALUE (repeatable)' })
    .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: one per core)' })
    .option('compressed-sizes', { choices: ['auto', 'always', 'never'] as const, default: 'auto' as const, describe: 'Measure gzip/brotli sizes (auto: files up to 64 MiB; they take about a minute per GB)' })
    .option('report', { type: 'string', array: true, default: [], describe: 'Write the report: .json, .md and/or .html paths (repeatable; the extension picks the form)' })
    .option('max-accuracy-drop', { type: 'number', describe: 'Budget: top-1 points the output may lose (exit 1 if broken)' })
    .option('max-size', { type: 'string', describe: 'Budget: output size on disk, e.g. 300KB, 2MiB (exit 1 if broken)' })
    .option('min-sqnr', { type: 'number', describe: 'Budget: SQNR floor (dB) of every output vs the input model; default 20 after a lossy pass (exit 1 if broken)' })
    .option('min-agreement', { type: 'number', describe: 'Budget: top-1 agreement with the input, in % of samples (for unlabelled data; exit 1 if broken)' })
    .option('min-speedup', { type: 'string', array: true, describe: 'Budget: speed-up over the input; 1.2 gates batch 1 and 32, b1:1.2 or b32:1.2 one of them (exit 1 if broken)' });
}
