/**
 * The op table is the one place that knows an op: any ONNX op type a consumer names (a
 * string literal in src/ or passes/, outside src/ops) must have an entry, so `inspect`, the
 * passes and the exporters cannot disagree about it. Op names are recognized with the list
 * onnx and onnxruntime publish (onnx-op-names.json, written by onnx-op-names.py).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { OPS } from '../../src/ops/registry.ts';

const ROOT = join(import.meta.dirname, '../..');
const reference = JSON.parse(readFileSync(join(import.meta.dirname, 'onnx-op-names.json'), 'utf8')) as Record<'ai.onnx' | 'com.microsoft', string[]>;
const SCANNED = ['src', 'passes'];
const TABLE_DIR = join(ROOT, 'src/ops');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === TABLE_DIR ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every string literal of a file (quotes and backquotes without substitutions), comments excluded. */
function stringLiterals(path: string, text = readFileSync(path, 'utf8')): string[] {
  const found: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isStringLiteralLike(n)) found.push(n.text);
    n.forEachChild(visit);
  };
  visit(ts.createSourceFile(path, text, ts.ScriptTarget.Latest));
  return found;
}

const opNames = new Set([...reference['ai.onnx'], ...reference['com.microsoft']]);

/** Op names used by consumers and missing from the table, as `file: Op`. */
function missingOps(files: readonly { path: string; text?: string }[], table: ReadonlySet<string>): string[] {
  return files.flatMap(({ path, text }) =>
    stringLiterals(path, text)
      .filter((s) => /^[A-Z][A-Za-z0-9]+$/.test(s) && opNames.has(s) && !table.has(s))
      .map((op) => `${relative(ROOT, path)}: ${op}`),
  );
}

describe('op table completeness', () => {
  const table = new Set(OPS.map((s) => s.op));

  it('op table: every op type a consumer names in src/ or passes/ has an entry', () => {
    const files = SCANNED.flatMap((d) => sourceFiles(join(ROOT, d))).map((path) => ({ path }));
    expect(files.length).toBeGreaterThan(50);
    expect(missingOps(files, table)).toEqual([]);
  });

  it('op table: the check catches an op named by a consumer only, and ignores comments and non-op words', () => {
    const consumer = `
      // 'Einsum' in a comment is not a use
      if (n.opType === 'Einsum' || ['Conv', "DepthToSpace"].includes(n.opType)) return \`QGemm\`;
      const header = ['Stage', 'Time'];`;
    const path = join(ROOT, 'src/quant/example.ts');
    expect(missingOps([{ path, text: consumer }], new Set(['Conv', 'QGemm']))).toEqual(['src/quant/example.ts: Einsum', 'src/quant/example.ts: DepthToSpace']);
  });

  it('op table: every entry is a real op of its domain (no typos)', () => {
    const real: Record<string, ReadonlySet<string>> = { '': new Set(reference['ai.onnx']), 'com.microsoft': new Set(reference['com.microsoft']) };
    expect(OPS.filter((s) => !real[s.domain]?.has(s.op)).map((s) => `${s.domain}:${s.op}`)).toEqual([]);
  });
});
