/**
 * `npm run bench` fixtures section: every fixture compressed by the CLI as a user would run it
 * (int8 static calibrated on mnist-calib; magnitude pruning 50 %; structured channels 50 %),
 * scored top-1 on the held-out mnist-test, and timed against the fp32 fixture at batch 1 and
 * 32 on real test digits: one onnxruntime thread, contenders interleaved by the report's own
 * timer (src/runtime/latency.ts `compareModels`).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset, toFloat32 } from '../../src/data/dataset.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import type { NpArray } from '../../src/data/npy.ts';
import { compareModels, type PairedTiming } from '../../src/runtime/latency.ts';
import { root, runChild, type ChildRun } from './cli-run.ts';

export const CALIB = 'fixtures/data/mnist-calib.npz';
export const TEST = 'fixtures/data/mnist-test.npz';
export const BATCHES = [1, 32] as const;

/**
 * What each compressed variant is: the CLI arguments that make it from the fixture. The prunes
 * are measured without fine-tuning, far below the quality gate's 20 dB floor: `--min-sqnr 0`
 * lowers the floor to "the output still carries signal" (error below the signal), so their speed
 * and accuracy are shown. A prune that destroys the model falls under even that floor (lenet5's
 * channels 50 %: SQNR −0.3 dB, cosine 0.01 against fp32): the CLI refuses it (exit 1, no file),
 * and the page shows the refusal as such rather than a lower floor hiding it.
 */
export const VARIANTS = [
  { key: 'int8', label: 'int8 static', args: ['quantize', '--calib', CALIB] },
  { key: 'magnitude', label: 'magnitude 50 %', args: ['prune', '--sparsity', '0.5', '--min-sqnr', '0'] },
  { key: 'channels', label: 'channels 50 %', args: ['prune', '--channels', '0.5', '--min-sqnr', '0'] },
] as const;

/**
 * One contender at one batch size against fp32, as docs/benchmarks.md shows it (ms: p50 of its
 * interleaved runs; speedup: fp32 p50 ÷ its p50; fastest: the per-round fastest-call ratio).
 * torch_baseline.py writes the same fields.
 */
export interface Timed {
  label: string;
  ms: number;
  p10: number;
  p90: number;
  runs: number;
  speedup: number;
  fastest: { ratio: number; lo: number; hi: number };
}

/** At least this long per contender and batch size, per --rounds (the bench's 40 ms rounds before). */
const SECONDS_PER_ROUND = 0.04;

/** Every contender against the first at one batch size, interleaved in this process, on `digits`. */
async function timeContenders(contenders: readonly { label: string; model: string }[], digits: NpArray, rounds: number, threads: number): Promise<Timed[]> {
  const batch = digits.shape[0]!;
  const c = await compareModels(contenders.map((x) => x.model), { batch, batch1: false, threads, values: { input: digits }, runIn: 'this process', minSeconds: rounds * SECONDS_PER_ROUND });
  const timed = (label: string, t: PairedTiming['a'], p: Pick<PairedTiming, 'speedup' | 'fastest'>): Timed => ({ label, ms: t.p50, p10: t.p10, p90: t.p90, runs: t.runs, ...p });
  const first = c.batchN[0]!;
  return [
    timed(contenders[0]!.label, first.a, { speedup: 1, fastest: { ratio: 1, lo: 1, hi: 1 } }),
    ...c.batchN.map((p, i) => timed(contenders[i + 1]!.label, p.b, p)),
  ];
}

export interface VariantResult {
  key: string;
  label: string;
  run: ChildRun;
  bytes?: number;
  accuracy?: number;
  /** By batch size: the interleaved timing (speedup = fp32 ms ÷ this ms). */
  latency?: Record<string, Timed>;
}

export interface FixtureResult {
  fixture: string;
  bytes: number;
  accuracy: number;
  /** fp32 ms by batch size. */
  latency: Record<string, Timed>;
  variants: VariantResult[];
}

export interface FixturesData {
  threads: number;
  rounds: number;
  fixtures: FixtureResult[];
}

/** Every fixtures/*.onnx, or the ones named. */
export function fixtureNames(only?: string[]): string[] {
  const all = readdirSync(`${root}fixtures`).filter((f) => f.endsWith('.onnx')).map((f) => f.slice(0, -5)).sort();
  return only ? all.filter((n) => only.includes(n)) : all;
}

/** The first `n` held-out digits, as the model's input. */
export async function testDigits(n: number): Promise<NpArray> {
  const ds = await openDataset(`${root}${TEST}`);
  try {
    for await (const b of ds.batches(n)) return { dtype: 'float32', shape: b.shape, data: toFloat32(b.x, ds.x.dtype) };
    throw new Error(`${TEST} is empty`);
  } finally {
    await ds.close();
  }
}

async function fixture(name: string, rounds: number, threads: number): Promise<FixtureResult> {
  const input = `fixtures/${name}.onnx`;
  const work = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const test = await openDataset(`${root}${TEST}`);
  try {
    const evaluate = accuracyEvaluator(test);
    const accuracyOf = (path: string) => evaluate(readFileSync(path));
    const variants: VariantResult[] = [];
    const contenders = [{ label: 'fp32', model: `${root}${input}` }];
    for (const v of VARIANTS) {
      const out = join(work, `${v.key}.onnx`);
      process.stderr.write(`  ${name}: ${v.args.join(' ')}\n`);
      const run = runChild(['shrinkray', ...v.args, input, '-o', out, '--no-latency', '--quiet']);
      const result: VariantResult = { key: v.key, label: v.label, run };
      if (run.status === 0) {
        result.bytes = statSync(out).size;
        result.accuracy = await accuracyOf(out);
        contenders.push({ label: v.key, model: out });
      }
      variants.push(result);
    }
    const fp32Latency: Record<string, Timed> = {};
    for (const batch of BATCHES) {
      const timed = await timeContenders(contenders, await testDigits(batch), rounds, threads);
      fp32Latency[batch] = timed[0]!;
      for (const t of timed.slice(1)) {
        const v = variants.find((x) => x.key === t.label)!;
        (v.latency ??= {})[batch] = t;
      }
    }
    return { fixture: name, bytes: statSync(`${root}${input}`).size, accuracy: await accuracyOf(`${root}${input}`), latency: fp32Latency, variants };
  } finally {
    await test.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function runFixtures(o: { fixtures?: string[]; rounds: number; threads: number }): Promise<FixturesData> {
  const fixtures: FixtureResult[] = [];
  for (const name of fixtureNames(o.fixtures)) {
    process.stderr.write(`fixture ${name}\n`);
    fixtures.push(await fixture(name, o.rounds, o.threads));
  }
  return { threads: o.threads, rounds: o.rounds, fixtures };
}
