import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/report/markdown.ts';
import { buildReport } from '../../src/report/report.ts';
import { base, input, output, prune } from './sample.ts';

/** Header and body rows of the table, split into cells (the alignment row is checked apart). */
function table(md: string): string[][] {
  return md.split('\n').filter((l) => l.startsWith('| ')).map((l) => l.slice(2, -2).split(' | '));
}

describe('report/markdown', () => {
  const report = buildReport({
    ...base,
    stages: [input, prune, output],
    budgets: { maxAccuracyDrop: 1, maxSize: 200_000 },
    notes: ['calibrated on 64 samples'],
  });
  const md = renderMarkdown(report);

  it('markdown: a header row, an alignment row and one row per stage with deltas', () => {
    const rows = table(md);
    expect(rows[0]).toEqual([
      'Stage', 'Size', 'vs input', 'gzip', 'brotli', 'Params', 'Sparsity', 'Top-1', 'Δ top-1 (pts)',
      'Top-1 match', 'SQNR', 'p50 b1 (p10–p90)', 'p50 b32 (p10–p90)', 'Speed-up b1', 'Speed-up b32', 'Time',
    ]);
    expect(rows).toHaveLength(4);
    expect(md).toContain(`\n|:---|${'---:|'.repeat(15)}\n| input |`);
    expect(rows[1]).toEqual(['input', '1.00 MB', '1.00×', '900 KB', '880 KB', '250,000', '0.00%', '98.00%', '±0.00', '100.00%', '∞', '2.000 ms (1.900–2.500)', '20.0 ms (19.0–22.0)', '1.00×', '1.00×', '—']);
    expect(rows[2]![0]).toBe('prune');
    expect(rows[2]![7]).toBe('—');
    expect(rows[3]).toEqual(['output', '250 KB', '0.25×', '150 KB', '140 KB', '250,000', '50.00%', '97.20%', '−0.80', '98.50%', '31.5 dB', '1.000 ms (0.900–1.200)', '8.000 ms (7.500–9.000)', '2.00×', '2.50×', '3.5 s']);
  });

  it('markdown: how latency was timed (threads, interleaving, runs) is stated under the table', () => {
    expect(md).toContain('\n<sub>Latency: input and output timed interleaved in one process with 1 intra-op thread on random inputs; p50 (p10–p90), 250 runs at batch 1 and 30 at batch 32.</sub>\n');
  });

  it('markdown: budgets carry pass/fail marks and notes follow', () => {
    expect(md).toContain('### Budgets');
    expect(md).toMatch(/^- ✅ \*\*maxAccuracyDrop\*\*: .*0\.80 points is within/m);
    expect(md).toMatch(/^- ❌ \*\*maxSize\*\*: .*over the 200 KB budget$/m);
    expect(md).toContain('### Notes\n\n- calibrated on 64 samples\n');
    expect(md).toContain('`models/net.onnx` → `out/net_small.onnx`');
  });

  it('markdown: columns nobody measured are left out, as are empty sections', () => {
    const bare = buildReport({ ...base, stages: [{ ...prune, name: 'input', seconds: undefined }, { ...prune, name: 'output', seconds: undefined }] });
    const out = renderMarkdown(bare);
    expect(table(out)[0]).toEqual(['Stage', 'Size', 'vs input', 'gzip', 'brotli', 'Params', 'Sparsity']);
    expect(out).not.toContain('### Budgets');
    expect(out).not.toContain('### Notes');
  });

  it('markdown: pipes and markup in names cannot break the table', () => {
    const odd = buildReport({ ...base, stages: [input, { ...output, name: 'a|b*c' }], notes: ['x | y\nz'] });
    const out = renderMarkdown(odd);
    expect(out).toContain('| a\\|b\\*c |');
    expect(out).toContain('- x \\| y z\n');
    expect(table(out).every((r) => r.length === table(out)[0]!.length)).toBe(true);
  });
});
