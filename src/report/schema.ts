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
}

export interface StageLatency {
  /** Milliseconds per call. */
  batch1: { p50: number; p90: number };
  batchN: { n: number; p50: number; p90: number };
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
  latency?: StageLatency;
  /** Wall time the pass took. */
  seconds?: number;
  deltas: Deltas;
}

/** Against the 'input' stage. */
export interface Deltas {
  /** sizeBytes / input sizeBytes: 0.25 is four times smaller. */
  sizeRatio: number;
  /** (top1 − input top1) × 100: negative is a drop. Present when both have accuracy. */
  accuracyPoints?: number;
  /** Input batch-1 p50 / this batch-1 p50: 2 is twice as fast. Present when both have latency. */
  speedup?: number;
}

export interface Budgets {
  /** Percentage points of top-1 accuracy the output may lose. */
  maxAccuracyDrop?: number;
  /** Bytes on disk. */
  maxSize?: number;
  /** Minimum batch-1 p50 speed-up of the output over the input. */
  minSpeedup?: number;
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
}
