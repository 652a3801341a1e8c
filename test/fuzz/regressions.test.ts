/**
 * Every reproducer the fuzzer found (test/fuzz/cases/<run>-case<N>.onnx, with a .json telling
 * the seed model, the minimised mutations and what went wrong then) must now behave: no exit
 * 3, no stack trace, one-line messages, nothing left in the output folder.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executeCase } from './execute.ts';

const CASES = join(import.meta.dirname, 'cases');
const dir = mkdtempSync(join(tmpdir(), 'shrinkray-fuzz-regress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fuzz reproducers', () => {
  const files = readdirSync(CASES).filter((f) => f.endsWith('.onnx')).sort();
  it('fuzz: reproducers are kept', () => expect(files.length).toBeGreaterThan(0));
  for (const file of files) {
    it(`fuzz: ${file} (${JSON.parse(readFileSync(join(CASES, file.replace(/\.onnx$/, '.json')), 'utf8')).problems.join(', ')} before)`, async () => {
      const r = await executeCase(new Uint8Array(readFileSync(join(CASES, file))), join(dir, file), { viaCli: true });
      expect(r.problems, JSON.stringify(r)).toEqual([]);
    });
  }
});
