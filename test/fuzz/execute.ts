/**
 * One fuzz case: the model bytes through `inspect` and `compress --passes cleanup
 * --no-latency` (the commands of the issue-14 run), in this process, and what went wrong:
 * an internal error (exit 3), a stack trace or a multi-line message, or a file left in the
 * output folder by a run that failed.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

export type Problem = 'exit-3' | 'stack-trace' | 'multi-line' | 'leftover' | 'hang' | 'crash';

function judge(r: { code: number; err: string }, problems: Set<Problem>): RunResult {
  if (r.code === 3) problems.add('exit-3');
  if (/\n\s+at /.test(r.err)) problems.add('stack-trace');
  if (r.err.trim().split('\n').length > 1) problems.add('multi-line');
  return { code: r.code, ...(r.err && { message: r.err.trim().split('\n')[0] }) };
}

/** Runs the case in `dir` (created, and emptied afterwards). */
export async function executeCase(bytes: Uint8Array, dir: string): Promise<CaseResult> {
  const problems = new Set<Problem>();
  mkdirSync(join(dir, 'in'), { recursive: true });
  mkdirSync(join(dir, 'out'), { recursive: true });
  const input = join(dir, 'in', 'model.onnx');
  writeFileSync(input, bytes);
  try {
    const inspect = judge(await cli('inspect', input), problems);
    const c = await cli('compress', input, '-o', join(dir, 'out', 'model.onnx'), '--passes', 'cleanup', '--no-latency', '--quiet');
    const compress = judge(c, problems);
    const left = readdirSync(join(dir, 'out')).filter((f) => !(c.code === 0 && f === 'model.onnx'));
    if (left.length || readdirSync(join(dir, 'in')).length !== 1) problems.add('leftover');
    return { inspect, compress, problems: [...problems] };
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
