/**
 * What a command runs by default on a large model. Opening a model in onnxruntime takes
 * ~12 s and ~1.1 GiB per GiB of weights here, so above `--large-model` (by default the size
 * above which passes check a model structurally) latency is not measured and verification
 * checks the saved output without running either model, and lossy passes are not compared
 * with the input model by the quality gate, each with a note naming the flag
 * that forces the full measurement — as gzip/brotli sizes are skipped above 64 MiB.
 */
import { statSync } from 'node:fs';
import { formatSize, parseSize } from '../report/size.ts';

/** The size above which passes check a model structurally (runtime/check.ts FULL_CHECK_LIMIT; a test keeps them equal). */
export const LARGE_MODEL_DEFAULT = '128MiB';

export interface LargeModelFlags {
  /** true forces, false skips, undefined: up to the limit. */
  latency?: boolean;
  verify?: boolean;
  /** A size (parseSize); default LARGE_MODEL_DEFAULT. */
  largeModel?: string;
  /** A speed-up budget asks for latency whatever the size. */
  minSpeedup?: readonly string[];
  /** An SQNR floor, like a data set, asks for the quality gate whatever the size. */
  minSqnr?: number;
  data?: string;
  /** true forces the quality gate, false skips it, undefined: up to the limit. */
  qualityGate?: boolean;
}

export interface RunPlan {
  latency: boolean;
  /** 'outputs': compare outputs on random inputs in onnxruntime; 'saved': check the saved file without running it. */
  verify: 'outputs' | 'saved' | false;
  /** For the report, when latency was left out by size. */
  latencyNote?: string;
  /** For the report, when a verification runs as 'saved'. */
  verifyNote?: string;
  /** Whether a lossy pass's outputs are compared with the input model's (the quality gate). */
  quality: boolean;
  /** For the report, when the quality gate was left out by size. */
  qualityNote?: string;
}

/** Bytes of a model on disk: the .onnx file and its external data files. */
export function bytesOnDisk(files: readonly string[]): number {
  return files.reduce((n, f) => n + statSync(f).size, 0);
}

/** The one decision: which runs of a model of `bytes` the flags ask for. */
export function planRuns(flags: LargeModelFlags, bytes: number): RunPlan {
  const limit = flags.largeModel ?? LARGE_MODEL_DEFAULT;
  const large = bytes > parseSize(limit);
  const over = `the model is ${formatSize(bytes)}, over --large-model ${limit}`;
  return {
    latency: flags.latency ?? (!large || (flags.minSpeedup?.length ?? 0) > 0),
    verify: flags.verify === false ? false : flags.verify || !large ? 'outputs' : 'saved',
    ...(flags.latency === undefined && large && !flags.minSpeedup?.length && { latencyNote: `latency not measured: ${over} (--latency measures it)` }),
    // The gate runs both models in onnxruntime: by default only up to the limit, like latency.
    quality: flags.qualityGate ?? (!large || flags.minSqnr !== undefined || flags.data !== undefined),
    ...(flags.qualityGate === false && { qualityNote: 'quality gate not run: --no-quality-gate' }),
    ...(flags.qualityGate === undefined && large && flags.minSqnr === undefined && flags.data === undefined && { qualityNote: `quality gate not run: ${over} (--quality-gate, --min-sqnr or --data runs it)` }),
    ...(flags.verify === undefined && large && {
      verifyNote: `verified without running the models: ${over}. The saved output was read back, onnxruntime resolved every node's kernel and shape with the large weights as inputs, and its weights match the ones written (sampled bytes); outputs were not compared with the input model's (--verify compares them on random inputs)`,
    }),
  };
}
