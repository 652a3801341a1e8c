/**
 * `npm run fuzz -- --cases 10000 --seed 1 [--jobs 2] [--out tmp/fuzz] [--timeout 30000] [--max-heap-mb 2048] [--small]`
 *
 * Mutation fuzzing of `inspect` and `compress --passes cleanup --no-latency`. Cases run in
 * this process, on --jobs worker threads, each with a heap limit; a watchdog terminates the worker when a
 * case exceeds --timeout (a synchronous hang included) and starts a new one. Writes one JSON
 * line per case to <out>/cases.jsonl, a summary (counts per mutation kind and per exit code,
 * problems, peak RSS, time) to <out>/summary.json and stdout, and, for every case with a
 * problem, a minimised reproducer (<out>/repro/<case>.onnx + .json: fewest mutations that
 * still show it). Copy reproducers into test/fuzz/cases/ to keep them as regression tests.
 * onnxruntime writes its own log lines straight to stderr; redirect it to keep the run quiet.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { caseBytes, makeCase, type FuzzCase } from './cases.ts';
import { seedModels, type CaseResult, type Problem } from './execute.ts';
import { applyAll, type Mutation } from './mutators.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const cases = Number(arg('cases', '1000'));
const seed = Number(arg('seed', '1'));
const out = arg('out', 'tmp/fuzz');
const timeoutMs = Number(arg('timeout', '30000'));
const maxHeapMb = Number(arg('max-heap-mb', '2048'));
const jobs = Number(arg('jobs', '1'));
const seeds = seedModels({ small: process.argv.includes('--small') });
const seedBytes = new Map(seeds.map((s) => [s.name, s.bytes]));
const names = seeds.map((s) => s.name);

type Outcome = { result: CaseResult; ms: number };

/** One worker at a time, replaced after a hang or a crash. */
class Runner {
  private worker?: Worker;
  private next = 0;
  private spawned = 0;
  private readonly scratch = mkdtempSync(join(tmpdir(), 'shrinkray-fuzz-'));

  private spawn(): Worker {
    return new Worker(new URL('./boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./worker.ts', import.meta.url).href, dir: join(this.scratch, `w${this.spawned++}`) },
      resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
      stderr: false,
    });
  }

  run(bytes: Uint8Array): Promise<Outcome> {
    const w = (this.worker ??= this.spawn());
    const id = this.next++;
    return new Promise<Outcome>((resolve) => {
      const failed = (problem: Problem, message: string) => {
        cleanup();
        this.worker = undefined;
        void w.terminate();
        const r = { code: -1, message };
        resolve({ result: { inspect: r, compress: r, problems: [problem] }, ms: timeoutMs });
      };
      const timer = setTimeout(() => failed('hang', `no answer in ${timeoutMs} ms`), timeoutMs);
      const onMessage = (m: { id: number; result: CaseResult; ms: number }) => {
        if (m.id !== id) return;
        cleanup();
        resolve({ result: m.result, ms: m.ms });
      };
      const onError = (err: Error) => failed('crash', `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim());
      const onExit = (code: number) => failed('crash', `worker exited with ${code}`);
      const cleanup = () => {
        clearTimeout(timer);
        w.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      w.on('message', onMessage).on('error', onError).on('exit', onExit);
      w.postMessage({ id, bytes });
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** Drops mutations one at a time while the case still shows `problem`. */
async function minimise(runner: Runner, c: FuzzCase, problem: Problem): Promise<{ mutations: Mutation[]; bytes: Uint8Array; result: CaseResult }> {
  let mutations = c.mutations;
  let bytes = caseBytes(c, seedBytes);
  let result: CaseResult | undefined;
  for (let i = mutations.length - 1; i >= 0 && mutations.length > 1; i--) {
    const fewer = mutations.filter((_, k) => k !== i);
    const b = applyAll(seedBytes.get(c.model)!, fewer);
    const r = (await runner.run(b)).result;
    if (r.problems.includes(problem)) [mutations, bytes, result] = [fewer, b, r];
  }
  return { mutations, bytes, result: result ?? (await runner.run(bytes)).result };
}

async function main(): Promise<void> {
  mkdirSync(join(out, 'repro'), { recursive: true });
  const log = join(out, 'cases.jsonl');
  writeFileSync(log, '');
  const runners = Array.from({ length: jobs }, () => new Runner());
  const byKind: Record<string, Record<string, number>> = {};
  const byExit: Record<string, number> = {};
  const problems: Record<string, number> = {};
  const start = performance.now();
  let slowest = 0;
  let next = 0;
  let finished = 0;
  const work = async (runner: Runner) => {
    for (let i = next++; i < cases; i = next++) {
      const c = makeCase(seed, i, names);
      const { result, ms } = await runner.run(caseBytes(c, seedBytes));
      slowest = Math.max(slowest, ms);
      const kind = c.mutations[0]!.kind;
      const exit = `inspect ${result.inspect.code} / compress ${result.compress.code}`;
      (byKind[kind] ??= {})[`exit ${result.compress.code}`] = (byKind[kind]![`exit ${result.compress.code}`] ?? 0) + 1;
      byExit[exit] = (byExit[exit] ?? 0) + 1;
      for (const p of result.problems) problems[p] = (problems[p] ?? 0) + 1;
      appendFileSync(log, JSON.stringify({ case: i, model: c.model, mutations: c.mutations, ...result, ms: Math.round(ms) }) + '\n');
      if (result.problems.length) {
        const min = await minimise(runner, c, result.problems[0]!);
        const name = `seed${seed}-case${i}`;
        writeFileSync(join(out, 'repro', `${name}.onnx`), min.bytes);
        writeFileSync(join(out, 'repro', `${name}.json`), JSON.stringify({ model: c.model, mutations: min.mutations, ...min.result }, null, 2) + '\n');
        process.stdout.write(`case ${i}: ${result.problems.join(', ')} — ${result.compress.message ?? result.inspect.message ?? ''}\n`);
      }
      if (++finished % 500 === 0) process.stdout.write(`${finished}/${cases} cases, ${((performance.now() - start) / 1000).toFixed(0)} s\n`);
    }
  };
  await Promise.all(runners.map(work));
  await Promise.all(runners.map((r) => r.close()));
  const summary = {
    cases,
    seed,
    jobs,
    seconds: Math.round((performance.now() - start) / 1000),
    slowestCaseMs: Math.round(slowest),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    problems,
    byExit,
    byKind,
  };
  writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

await main();
