/**
 * Each error class maps to its exit code with one line on stderr (issue 14): InputError and
 * bad usage 2, CheckError 1, anything else — a bug — 3, with the stack only under --verbose.
 * The bug is simulated by a summarizer that throws a TypeError.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CheckError, InputError, ShrinkrayError } from '../../src/errors.ts';
import { cli } from '../helpers/cli.ts';

const bug = vi.hoisted(() => ({ on: false }));
vi.mock('../../src/inspect/summary.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/inspect/summary.ts')>();
  return {
    ...real,
    summarizeModel: (...args: Parameters<typeof real.summarizeModel>) => {
      if (bug.on) throw new TypeError("Cannot read properties of undefined (reading 'dims')");
      return real.summarizeModel(...args);
    },
  };
});

const LENET = join(import.meta.dirname, '../../fixtures/lenet5.onnx');
const dir = mkdtempSync(join(tmpdir(), 'shrinkray-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const oneLine = (err: string) => expect(err).toMatch(/^shrinkray: [^\n]+\n$/);

describe('exit codes', () => {
  it('exit codes: the classes carry their codes', () => {
    expect(new InputError('x').exitCode).toBe(2);
    expect(new CheckError('x').exitCode).toBe(1);
    expect(new InputError('x')).toBeInstanceOf(ShrinkrayError);
  });

  it('exit codes: bad usage → 2', async () => {
    const r = await cli('compress', LENET);
    expect(r.code).toBe(2);
    oneLine(r.err);
  });

  it('exit codes: bad input (InputError) → 2, naming the file', async () => {
    const r = await cli('inspect', join(dir, 'missing.onnx'));
    expect(r.code).toBe(2);
    expect(r.err).toBe(`shrinkray: ${join(dir, 'missing.onnx')}: no such file\n`);
  });

  it('exit codes: a failed check (CheckError: a budget) → 1', async () => {
    const r = await cli('compress', LENET, '-o', join(dir, 'out.onnx'), '--no-latency', '--max-size', '1', '--compressed-sizes', 'never', '--quiet');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^shrinkray: .*budget/);
    oneLine(r.err);
  });

  it('exit codes: a bug (any other error) → 3, one line, the stack only with --verbose', async () => {
    bug.on = true;
    try {
      const r = await cli('inspect', LENET);
      expect(r.code).toBe(3);
      expect(r.err).toBe("shrinkray: internal error: Cannot read properties of undefined (reading 'dims') (run with --verbose for details)\n");
      const v = await cli('inspect', LENET, '--verbose');
      expect(v.code).toBe(3);
      expect(v.err).toMatch(/\n\s+at /);
    } finally {
      bug.on = false;
    }
  });
});
