/**
 * `npm run bench` pytorch section: Debian's python3-torch doing the same jobs on the same
 * fixtures and data (test/bench/torch_baseline.py): PTQ static int8 and magnitude pruning 50 %,
 * accuracy on mnist-test, latency at batch 1 and 32 with one thread, interleaved. Dev only:
 * torch is never a dependency; without /usr/bin/python3 + torch the section records why.
 */
import { spawnSync } from 'node:child_process';
import { root } from './cli-run.ts';
import { CALIB, fixtureNames, TEST, type Timed } from './section-fixtures.ts';

const PYTHON = '/usr/bin/python3';

export interface TorchResult {
  torch: string;
  threads: number;
  /** Engine → "ok" or why it failed. */
  engines: Record<string, string>;
  /** Variant label (fp32, int8-<engine>, magnitude-0.5) → top-1 fraction. */
  accuracy: Record<string, number>;
  /** Batch size → timings, fp32 first (speedup = fp32 ms ÷ this ms). */
  latency: Record<string, Timed[]>;
}

export interface PytorchData {
  engines: string;
  fixtures: { fixture: string; result?: TorchResult; error?: string }[];
}

export function runPytorch(o: { fixtures?: string[]; rounds: number; engines: string }): PytorchData {
  const fixtures: PytorchData['fixtures'] = [];
  for (const fixture of fixtureNames(o.fixtures)) {
    process.stderr.write(`pytorch ${fixture}\n`);
    const r = spawnSync(
      PYTHON,
      [`${root}test/bench/torch_baseline.py`, `${root}fixtures/${fixture}.onnx`, '--calib', `${root}${CALIB}`, '--test', `${root}${TEST}`, '--engines', o.engines, '--rounds', String(o.rounds)],
      { encoding: 'utf8', timeout: 1800_000 },
    );
    const last = r.stdout?.trim().split('\n').pop();
    if (r.status === 0 && last) fixtures.push({ fixture, result: JSON.parse(last) as TorchResult });
    else fixtures.push({ fixture, error: (r.error?.message ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`).slice(0, 300) });
  }
  return { engines: o.engines, fixtures };
}
