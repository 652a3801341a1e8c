import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getPass } from '../../passes/index.ts';

/** `| \`option\` | \`default\` | …` rows of a pass doc's options table. */
function documented(name: string): Map<string, string> {
  const text = readFileSync(`docs/passes/${name}.md`, 'utf8');
  return new Map([...text.matchAll(/^\| `(\w+)` \| `([^`]*)` \|/gm)].map((m) => [m[1]!, m[2]!]));
}

const shown = (v: unknown) => (Array.isArray(v) ? (v.length ? v.join(',') : '(empty)') : v === '' ? '(empty)' : String(v));

describe('docs/passes', () => {
  it.each(['quantize', 'quantize-int4', 'prune', 'cleanup', 'opset'])('pass docs: %s documents every option with its default', (name) => {
    const pass = getPass(name);
    const rows = documented(name);
    expect([...rows.keys()].sort()).toEqual(Object.keys(pass.options).sort());
    for (const [key, spec] of Object.entries(pass.options)) expect(rows.get(key), key).toBe(shown(spec.default));
  });
});
