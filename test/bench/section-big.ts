/**
 * `npm run bench` sections on the generated 1 GiB model (test/bench/big-model.ts):
 * - io: the IO and quantize benches (test/bench/io.ts, test/bench/quantize.ts), each timing
 *   `cp` in the same run; their tables are kept as printed;
 * - cli: every CLI command that takes a model, with default flags (only what it requires),
 *   wall time and peak RSS from /usr/bin/time -v, next to `cp` and `cp` + sync timed in the
 *   same run; resumable command by command.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy } from '../../src/data/npy.ts';
import { mulberry32 } from '../../src/math/random.ts';
import { bigModel } from './big-model.ts';
import { root, runChild, type ChildRun } from './cli-run.ts';

export interface BigOptions {
  dir: string;
  layers: number;
  dim: number;
}

export interface IoData {
  layers: number;
  dim: number;
  benches: { script: string; status: number | null; table: string; stderr: string }[];
}

export async function runIo(o: BigOptions): Promise<IoData> {
  await bigModel(o.dir, o.layers, o.dim);
  const benches: IoData['benches'] = [];
  for (const script of ['test/bench/io.ts', 'test/bench/quantize.ts']) {
    process.stderr.write(`io: ${script}\n`);
    // io.ts deletes a model it did not generate in its own temp dir unless told to keep it.
    const keep = script.endsWith('io.ts') ? ['--keep'] : [];
    const args = ['--import', 'tsx', `${root}${script}`, '--dir', o.dir, '--layers', String(o.layers), '--dim', String(o.dim), '--runs', '3', ...keep];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: root, timeout: 1800_000 });
    // io.ts exits 1 when it misses its own targets: the table is still the result.
    benches.push({ script, status: r.status, table: r.stdout.trim(), stderr: r.stderr.trim().split('\n').slice(-3).join(' / ') });
  }
  return { layers: o.layers, dim: o.dim, benches };
}

export interface CliData {
  fileBytes: number;
  cp: ChildRun[];
  cpSync: ChildRun[];
  commands: (ChildRun & { note?: string; outputBytes?: number })[];
  skipped: { command: string; why: string }[];
}

/** Unlabelled random inputs for the commands that require data: 64 samples of [dim]. */
function randomInputs(dir: string, dim: number): string {
  const path = join(dir, 'random-inputs.npy');
  const rng = mulberry32(3);
  writeFileSync(path, encodeNpy({ dtype: 'float32', shape: [64, dim], data: Float32Array.from({ length: 64 * dim }, () => rng() * 2 - 1) }));
  return path;
}

/** The commands, in order; `out` is a scratch output path. Flags beyond the required ones are noted. */
function commands(model: string, dir: string, data: string): { argv: string[]; note?: string }[] {
  const out = join(dir, 'out.onnx');
  return [
    { argv: ['shrinkray', 'inspect', model] },
    { argv: ['shrinkray', 'compress', model, '-o', out, '--report', join(dir, 'compress.json')], note: 'default passes (cleanup); --report for diff below' },
    { argv: ['shrinkray', 'quantize', model, '--mode', 'dynamic', '-o', out, '--report', join(dir, 'dynamic.json')], note: '--report for diff below' },
    { argv: ['shrinkray', 'quantize', model, '--calib', data, '-o', out], note: 'static (the default) needs --calib: 64 random inputs' },
    { argv: ['shrinkray', 'prune', model, '--sparsity', '0.5', '-o', out], note: '--sparsity: the default 0 prunes nothing' },
    { argv: ['shrinkray', 'quantize-int4', model, '-o', out] },
    { argv: ['shrinkray', 'eval', model] },
    { argv: ['shrinkray', 'analyze', model, '--data', data], note: 'needs --data: 64 random inputs (agreement)' },
    { argv: ['shrinkray', 'export', model, '-o', join(dir, 'out.tflite')] },
    { argv: ['shrinkray', 'init', model, '-o', join(dir, 'recipe.yaml'), '--force'] },
    { argv: ['shrinkray', 'run', join(dir, 'recipe.yaml')], note: 'the recipe init wrote' },
    { argv: ['shrinkray', 'diff', join(dir, 'compress.json'), join(dir, 'dynamic.json')], note: 'the two reports above' },
  ];
}

const SKIPPED = [
  { command: 'shrinkray distill', why: 'needs a student model and a data set: not a job for a random MatMul chain' },
  { command: 'shrinkray passes', why: 'takes no model' },
];

/** Same conditions before each measurement: nobody's dirty pages pending, the input in the page cache. */
function settle(model: string): void {
  spawnSync('sync');
  spawnSync('cat', [model], { stdio: 'ignore' });
}

/** Files later commands read (reports for diff, the recipe for run): kept until the section ends. */
const CARRIED = ['compress.json', 'dynamic.json', 'recipe.yaml'];

/**
 * Resumable: each measured command is saved to `partial` at once, and a rerun after an
 * interruption measures only the commands not there yet (cp is timed again in every sitting).
 */
export async function runCli(o: BigOptions, timeoutSeconds: number, partial: string): Promise<CliData> {
  const model = await bigModel(o.dir, o.layers, o.dim);
  // Leftovers of an interrupted sitting would count as the next command's output.
  for (const f of readdirSync(o.dir)) if (join(o.dir, f) !== model && !CARRIED.includes(f)) rmSync(join(o.dir, f), { recursive: true, force: true });
  const copy = join(o.dir, 'cp-copy.onnx');
  const cpOnce = (sync: boolean) => {
    settle(model);
    const r = runChild(sync ? ['sh', '-c', 'cp "$0" "$1" && sync "$1"', model, copy] : ['cp', model, copy]);
    rmSync(copy, { force: true });
    return r;
  };
  const fileBytes = statSync(model).size;
  const before = existsSync(partial) ? (JSON.parse(readFileSync(partial, 'utf8')) as CliData) : undefined;
  const data: CliData = before?.fileBytes === fileBytes ? before : { fileBytes, cp: [], cpSync: [], commands: [], skipped: SKIPPED };
  data.cp.push(cpOnce(false));
  data.cpSync.push(cpOnce(true));
  const inputs = randomInputs(o.dir, o.dim);
  const kept = new Set([...readdirSync(o.dir), ...CARRIED]);
  for (const c of commands(model, o.dir, inputs)) {
    if (data.commands.some((m) => m.command === c.argv.join(' ').replaceAll(o.dir, '$DIR'))) continue;
    settle(model);
    process.stderr.write(`cli: ${c.argv.join(' ')}\n`);
    const run = runChild(c.argv, timeoutSeconds);
    // What the command wrote (an output model, reports): the largest file is its output.
    const written = readdirSync(o.dir).filter((f) => !kept.has(f)).map((f) => join(o.dir, f));
    const files = written.filter((f) => statSync(f).isFile());
    const outputBytes = files.length ? Math.max(...files.map((f) => statSync(f).size)) : undefined;
    for (const f of written) rmSync(f, { recursive: true, force: true });
    data.commands.push({ ...run, command: run.command.replaceAll(o.dir, '$DIR'), ...(c.note && { note: c.note }), ...(outputBytes !== undefined && { outputBytes }) });
    writeFileSync(partial, JSON.stringify(data));
  }
  // cp again at the end: the load may have changed during the run.
  data.cp.push(cpOnce(false));
  data.cpSync.push(cpOnce(true));
  for (const f of [...CARRIED, 'random-inputs.npy']) rmSync(join(o.dir, f), { force: true });
  rmSync(partial, { force: true });
  return data;
}
