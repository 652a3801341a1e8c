/** Hand-made stage measurements for report tests: every number is chosen, none measured. */
import type { StageMeasurements } from '../../src/report/report.ts';
import type { LatencyResult } from '../../src/runtime/latency.ts';

// Typed as measureLatency's result to show that it fits a stage as is.
const slow: LatencyResult = { threads: 1, batch1: { p10: 1.9, p50: 2, p90: 2.5, runs: 250 }, batchN: { n: 32, p10: 19, p50: 20, p90: 22, runs: 30 } };
const fast: LatencyResult = { threads: 1, batch1: { p10: 0.9, p50: 1, p90: 1.2, runs: 250 }, batchN: { n: 32, p10: 7.5, p50: 8, p90: 9, runs: 30 } };

export const input: StageMeasurements = {
  name: 'input',
  sizes: { sizeBytes: 1_000_000, gzipBytes: 900_000, brotliBytes: 880_000 },
  params: 250_000,
  sparsity: 0,
  accuracy: { top1: 0.98, samples: 1000 },
  agreement: { samples: 1000, top1Match: 1, maxAbsError: 0, meanAbsError: 0, cosine: 1, sqnrDb: Infinity },
  latency: slow,
};

export const prune: StageMeasurements = {
  name: 'prune',
  sizes: { sizeBytes: 1_000_000, gzipBytes: 500_000, brotliBytes: 450_000 },
  params: 250_000,
  sparsity: 0.5,
  seconds: 1.25,
};

export const output: StageMeasurements = {
  name: 'output',
  sizes: { sizeBytes: 250_000, gzipBytes: 150_000, brotliBytes: 140_000 },
  params: 250_000,
  sparsity: 0.5,
  accuracy: { top1: 0.972, samples: 1000 },
  agreement: { samples: 1000, top1Match: 0.985, maxAbsError: 0.5, meanAbsError: 0.01, cosine: 0.999, sqnrDb: 31.5 },
  latency: fast,
  seconds: 3.5,
};

export const base = {
  version: '0.1.0',
  input: 'models/net.onnx',
  output: 'out/net_small.onnx',
  createdAt: new Date('2026-01-02T03:04:05Z'),
};
