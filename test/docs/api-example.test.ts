import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('docs: the example in docs/api.md runs and prints what it claims', async () => {
  const doc = readFileSync('docs/api.md', 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(doc)![1].replace("from 'shrinkray'", `from '${resolve('src/api/index.ts')}'`);
  const file = join(mkdtempSync(join(tmpdir(), 'shrinkray-doc-')), 'example.mts');
  writeFileSync(file, code);
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file]);
  expect(stdout).toContain('identitiesRemoved: 1');
  expect(stdout.trim().split('\n').at(-1)).toBe('16');
});
