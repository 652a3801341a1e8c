/**
 * The report's JSON schema, version 1 (documented field by field in docs/report.md). Every
 * value here is JSON-safe: no Infinity, no undefined inside arrays, no class instances.
 */
import type { Accuracy, Agreement } from './metrics.ts';

export const SCHEMA_VERSION = 1;

export interface Report {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'shrinkray'; version: string };
  /** ISO 8601, UTC. */
  createdAt: string;
  /** Paths as the user gave them. */
  input: string;
  output: string;
  /** First 'input', then one row per pass, last 'output'. */
  stages: Stage[];
  budgets: BudgetResult[];
  notes: string[];
  /** Where the numbers were measured (added in 0.1: absent in older reports). */
  environment?: Environment;
  /** What produced the run, when it came from a recipe: the recipe and its data sets' hashes. */
  provenance?: Provenance;
}

export interface StageQuality {
  /** The data both models ran on: a data set's path, or 'random inputs'. */
  data: string;
  samples: number;
  outputs: { output: string; cosine: number; sqnrDb: number }[];
}

export interface Environment {
  node: string;
  /** The onnxruntime (Node binding) version. */
  onnxruntime: string;
  platform: string;
  arch: string;
  cpu: string;
  cores: number;
  /** onnxruntime intra-op threads; 0 means its default (one per core). */
  threads: number;
}

export interface Provenance {
  /** The recipe file as given, and its parsed content. */
  recipe?: { path: string; content: unknown };
  /** Every data set the run read, with the SHA-256 of its bytes (a folder: of its sorted files). */
  datasets: { role: string; path: string; sha256: string }[];
  /** Seeds used (latency inputs, and any a pass was given). */
  seeds: Record<string, number>;
}

/** One layer's weight bytes (what `inspect` calls a layer: weights belong to the node reading them). */
export interface LayerBytes {
  node: string;
  op: string;
  bytes: number;
}

/** Milliseconds per call of the whole batch; p10–p90 is the spread. */
export interface LatencyTiming {
  /** Absent in reports before 0.2. */
  p10?: number;
  p50: number;
  p90: number;
  /** Timed runs (absent in reports before 0.2). */
  runs?: number;
}

/**
 * Input and output are timed interleaved in one process (src/runtime/latency.ts), so their
 * ratio is a paired measurement; other stages are not timed.
 */
export interface StageLatency {
  /** onnxruntime intra-op threads it ran with (absent in reports before 0.2). */
  threads?: number;
  batch1: LatencyTiming;
  batchN: LatencyTiming & { n: number };
}

export interface Stage {
  /** 'input', a pass name, or 'output'. */
  name: string;
  sizeBytes: number;
  /** Absent when not measured: files over 64 MiB unless asked (`--compressed-sizes always`). */
  gzipBytes?: number;
  brotliBytes?: number;
  /** Weight elements (initializers and constants). */
  params: number;
  /** Fraction of those that are exactly zero, in [0, 1]. */
  sparsity: number;
  accuracy?: Accuracy;
  /** Outputs compared with the input model's on the same samples (SQNR capped, see metrics). */
  agreement?: Agreement;
  /** The quality gate's signal after a lossy pass: every float output vs the input model's (SQNR capped). */
  quality?: StageQuality;
  latency?: StageLatency;
  /** Wall time the pass took. */
  seconds?: number;
  /** Weight bytes per layer, largest first (at most 200, see report/layers.ts); set on the input and output stages. */
  layers?: LayerBytes[];
  deltas: Deltas;
}

/** Against the 'input' stage. */
export interface Deltas {
  /** sizeBytes / input sizeBytes: 0.25 is four times smaller. */
  sizeRatio: number;
  /** (top1 − input top1) × 100: negative is a drop. Present when both have accuracy. */
  accuracyPoints?: number;
  /** Input batch-1 p50 / this batch-1 p50, timed interleaved: 2 is twice as fast. Present when both have latency. */
  speedup?: number;
  /** The same at batch N (`latency.batchN.n`): batching often changes the picture. */
  speedupBatchN?: number;
}

export interface Budgets {
  /** Percentage points of top-1 accuracy the output may lose. */
  maxAccuracyDrop?: number;
  /** Bytes on disk. */
  maxSize?: number;
  /** Minimum batch-1 p50 speed-up of the output over the input. */
  minSpeedup?: number;
  /** Minimum batch-N p50 speed-up (N as measured, 32 by default). */
  minSpeedupBatchN?: number;
  /** Minimum top-1 agreement of the output with the input model, a fraction (for unlabelled data). */
  minAgreement?: number;
  /** Minimum SQNR (dB) of every output against the input model's (the quality gate; 20 after a lossy pass unless given). */
  minSqnr?: number;
}

export type BudgetName = keyof Budgets;

export interface BudgetResult {
  budget: BudgetName;
  limit: number;
  /** The measured value (drop in points, bytes, speed-up), null when it was not measured. */
  actual: number | null;
  pass: boolean;
  /** One line, naming the output file. */
  reason: string;
  /** For speed-up budgets: the batch size it gates. */
  batch?: number;
}
