/** Human-readable counts and plain-text tables for terminal output (sizes: report/size.ts). */


export const formatCount = (n: number): string => n.toLocaleString('en-US');
export const formatPercent = (f: number, digits = 1): string => `${(f * 100).toFixed(digits)}%`;

/** Left-aligns the first column, right-aligns the others. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c]?.length ?? 0)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n') + '\n';
}
