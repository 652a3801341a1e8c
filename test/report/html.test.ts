import { describe, expect, it } from 'vitest';
import { renderHtml, layerSqnrFromNotes } from '../../src/report/html.ts';
import { buildReport } from '../../src/report/report.ts';
import { base, input, output, prune } from './sample.ts';

/** A strict-enough check of well-formedness: every non-void tag closes in order. */
function unbalancedTags(html: string): string[] {
  const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);
  const stack: string[] = [];
  const errors: string[] = [];
  for (const m of html.replace(/<!DOCTYPE[^>]*>/i, '').replace(/<style>[\s\S]*?<\/style>/, '').matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    const tag = name!.toLowerCase();
    if (selfClose || (VOID.has(tag) && !close)) continue;
    if (!close) stack.push(tag);
    else if (stack.pop() !== tag) errors.push(`</${tag}> at ${m.index}`);
  }
  return [...errors, ...stack.map((t) => `<${t}> never closed`)];
}

const tricky = '<script>alert("x")</script> & "q"';

describe('report/html', () => {
  const layers = [{ node: 'fc1', op: 'Gemm', bytes: 800_000 }, { node: tricky, op: 'Conv', bytes: 100_000 }];
  const report = buildReport({
    ...base,
    stages: [{ ...input, layers }, { ...prune, name: tricky }, { ...output, layers: [{ node: 'fc1', op: 'Gemm', bytes: 200_000 }], latency: { batch1: { p50: 1, p90: 1 }, batchN: { n: 32, p50: 25, p90: 26 } } }],
    budgets: { maxAccuracyDrop: 1, maxSize: 200_000 },
    notes: [`debug: fc1 (Gemm): SQNR 41.6 dB, max error 0.2 of 14`, `debug: ${tricky} (Conv): SQNR 12.5 dB, max error 1 of 5`],
    environment: { node: '20.0.0', onnxruntime: '1.30.0', platform: 'linux 6', arch: 'x64', cpu: 'Test CPU', cores: 2, threads: 1 },
  });
  const html = renderHtml(report);

  it('html: one self-contained page: no script, no external resource, no http', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/http/i);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|\bhref=|@import|url\(/i);
    expect(unbalancedTags(html)).toEqual([]);
    expect(html).toContain('@media print');
  });

  it('html: every section and chart is there', () => {
    const sections = [...html.matchAll(/<section id="([\w-]+)">/g)].map((m) => m[1]);
    expect(sections).toEqual(['budgets', 'stages', 'quality', 'size', 'layers', 'accuracy', 'sensitivity', 'latency', 'notes', 'environment']);
    const charts = [...html.matchAll(/<svg data-chart="([\w-]+)" role="img"/g)].map((m) => m[1]);
    expect(charts).toEqual(['size-waterfall', 'layer-bytes', 'accuracy-vs-size', 'layer-sqnr', 'speedup']);
    // Stage table: a header and one row per stage; the latency table: batch 1 and 32 side by side.
    expect(html.match(/<table data-table="stages">.*?<\/table>/s)![0].match(/<tr>/g)).toHaveLength(4);
    expect(html).toMatch(/<th>Speed-up b1<\/th><th>p10 b32<\/th><th>p50 b32<\/th><th>p90 b32<\/th><th>Speed-up b32<\/th>/);
    expect(html).toContain('<p>Latency: input and output timed interleaved in one process with 1 intra-op thread');
    expect(html).toContain('<td class="num slower">0.80× (slower)</td>');
    expect(html).toContain('onnxruntime</th><td>1.30.0');
    expect(html).toContain('Test CPU, 2 cores');
  });

  it('html: budgets are coloured by result', () => {
    expect(html).toContain('<li class="pass" data-budget="maxAccuracyDrop" data-pass="true">');
    expect(html).toContain('<li class="fail" data-budget="maxSize" data-pass="false">');
    expect(html).toContain('1 budget failed');
  });

  it('html: names and notes are escaped, never markup', () => {
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#34;q&#34;');
  });

  it('html: per-layer SQNR comes from quantize debug notes', () => {
    expect(layerSqnrFromNotes(report.notes)).toEqual([{ node: 'fc1', op: 'Gemm', sqnrDb: 41.6 }, { node: tricky, op: 'Conv', sqnrDb: 12.5 }]);
    expect(layerSqnrFromNotes(['debug: a (Conv): SQNR Infinity dB, max error 0 of 1'])[0]!.sqnrDb).toBe(Infinity);
  });

  it('html: a run without data, latency or layers says what was not measured', () => {
    const bare = renderHtml(buildReport({ ...base, stages: [{ ...prune, name: 'input' }, { ...prune, name: 'output' }] }));
    expect(bare).toContain('Not measured: give a data set');
    expect(bare).toContain('Latency was not measured');
    expect(bare).toContain('Bytes per layer were not recorded');
    expect(unbalancedTags(bare)).toEqual([]);
  });
});
