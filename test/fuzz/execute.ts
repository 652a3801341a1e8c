/**
 * One fuzz case: the model bytes through `inspect` and `compress --passes cleanup
 * --no-latency` (the commands of the issue-14 run), in this process, and what went wrong:
 * an internal error (exit 3), a stack trace or a multi-line message, or a file left in the
 * output folder by a run that failed.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compressCommand } from '../../src/cli/commands/compress.ts';
import { inspectCommand } from '../../src/cli/commands/inspect.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { reportError } from '../../src/cli/main.ts';
import type { ReportArgs } from '../../src/cli/report-options.ts';
import { cli } from '../helpers/cli.ts';
import { handModel } from '../helpers/proto.ts';
import { ODD_CASES, boolInputModel, validModel } from './odd-models.ts';

export interface RunResult {
  code: number;
  /** The first line of stderr (the one-line message), if any. */
  message?: string;
}

export interface CaseResult {
  inspect: RunResult;
  compress: RunResult;
  /** Problems found; empty when the case behaved. */
  problems: Problem[];
}

/**
 * `check-failed`: exit 1, which with no budget given can only be verification finding the
 * cleaned model computing something else — a cleanup bug, or a loader reading another model
 * than onnxruntime does.
 */
export type Problem = 'exit-3' | 'check-failed' | 'stack-trace' | 'multi-line' | 'leftover' | 'hang' | 'crash';

function judge(r: { code: number; err: string }, problems: Set<Problem>): RunResult {
  if (r.code === 3) problems.add('exit-3');
  if (r.code === 1) problems.add('check-failed');
  if (/\n\s+at /.test(r.err)) problems.add('stack-trace');
  if (r.err.trim().split('\n').length > 1) problems.add('multi-line');
  return { code: r.code, ...(r.err && { message: r.err.trim().split('\n')[0] }) };
}

function sink() {
  let text = '';
  return { write: (t: string) => (text += t), text: () => text };
}

/**
 * The two commands of the issue-14 run, called as `main` calls them (same argument defaults,
 * same error → exit code mapping) but without building the yargs parser each time: that cost
 * ~90 ms a call here, more than most cases.
 */
async function command(run: (io: CliIO) => Promise<number>): Promise<{ code: number; err: string }> {
  const out = sink();
  const err = sink();
  const io: CliIO = { stdout: out, stderr: err };
  let code: number;
  try {
    code = await run(io);
  } catch (e) {
    code = reportError(e, io);
  }
  return { code, err: err.text() };
}

const GLOBAL = { json: false, verbose: false, quiet: true };
const REPORT: ReportArgs = { ...GLOBAL, batchSize: 64, latency: false, compressedSizes: 'auto', report: [] };

const inspect = (model: string) => command((io) => inspectCommand({ ...GLOBAL, model, top: 15 }, io));
const compress = (input: string, output: string) =>
  command((io) => compressCommand({ ...REPORT, input, output, externalData: false, verify: true, passes: ['cleanup'], set: [] }, io));

/** Runs the case in `dir` (created, and emptied afterwards); `viaCli` goes through argv parsing too. */
export async function executeCase(bytes: Uint8Array, dir: string, opts: { viaCli?: boolean } = {}): Promise<CaseResult> {
  const problems = new Set<Problem>();
  mkdirSync(join(dir, 'in'), { recursive: true });
  mkdirSync(join(dir, 'out'), { recursive: true });
  const input = join(dir, 'in', 'model.onnx');
  writeFileSync(input, bytes);
  try {
    const output = join(dir, 'out', 'model.onnx');
    const i = opts.viaCli ? await cli('inspect', input) : await inspect(input);
    const c = opts.viaCli ? await cli('compress', input, '-o', output, '--passes', 'cleanup', '--no-latency', '--quiet') : await compress(input, output);
    const left = readdirSync(join(dir, 'out')).filter((f) => !(c.code === 0 && f === 'model.onnx'));
    if (left.length || readdirSync(join(dir, 'in')).length !== 1) problems.add('leftover');
    return { inspect: judge(i, problems), compress: judge(c, problems), problems: [...problems] };
  } finally {
    rmSync(join(dir, 'in'), { recursive: true, force: true });
    rmSync(join(dir, 'out'), { recursive: true, force: true });
  }
}

const ROOT = join(import.meta.dirname, '../..');

/** Models the fuzzer mutates: the fixtures and small hand-encoded models (valid and odd). */
export function seedModels(opts: { small?: boolean } = {}): Array<{ name: string; bytes: Uint8Array }> {
  const file = (name: string, path: string) => ({ name, bytes: new Uint8Array(readFileSync(join(ROOT, path))) });
  const small = [
    { name: 'add-bias', bytes: validModel() },
    { name: 'hand', bytes: handModel() },
    { name: 'bool-input', bytes: boolInputModel() },
    file('python-model', 'test/io/fixtures/python-model.onnx'),
    ...ODD_CASES.filter((c) => /sparse index|cycle|named ''/.test(c.name)).map((c) => ({ name: `odd:${c.name}`, bytes: c.bytes() })),
  ];
  if (opts.small) return small;
  return [...small, file('dscnn', 'fixtures/dscnn.onnx'), file('lenet5', 'fixtures/lenet5.onnx'), file('tinyvit', 'fixtures/tinyvit.onnx')];
}
