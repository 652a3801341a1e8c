import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

/** Runs the n-th ```ts block of docs/api.md (from the repository root) and returns its stdout. */
async function runExample(n: number): Promise<string> {
  const doc = readFileSync('docs/api.md', 'utf8');
  const code = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)][n]![1]!.replace("from 'shrinkray'", `from '${resolve('src/api/index.ts')}'`);
  const file = join(mkdtempSync(join(tmpdir(), 'shrinkray-doc-')), 'example.mts');
  writeFileSync(file, code);
  return (await promisify(execFile)(process.execPath, ['--import', 'tsx', file])).stdout;
}

it('docs: the example in docs/api.md runs and prints what it claims', async () => {
  const stdout = await runExample(0);
  expect(stdout).toContain('identitiesRemoved: 1');
  expect(stdout.trim().split('\n').at(-1)).toBe('16');
});

it('docs: the distillation example in docs/api.md runs and prints what it claims', async () => {
  expect((await runExample(1)).trim().split('\n').at(-1)).toBe('1 15760');
});
