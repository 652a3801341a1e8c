/**
 * Inline SVG charts for the HTML report: plain markup computed here, so the page renders with
 * JavaScript off, offline and in print. Every chart is an <svg role="img"> with a <title>
 * and a `data-chart` name (what tests and readers look for), and every text is escaped.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Colours that stay distinct in grey-scale print: dark, middle, light. */
export const PALETTE = ['#1f5f8b', '#e07b39', '#7aa95c', '#8e6bb5', '#c94f4f'];

const FONT = 'font-family="system-ui, sans-serif" font-size="11"';
const n2 = (v: number) => (Math.round(v * 10) / 10).toString();

function svgOpen(name: string, title: string, width: number, height: number): string {
  return `<svg data-chart="${escapeHtml(name)}" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ${FONT}><title>${escapeHtml(title)}</title>`;
}

function legend(series: readonly { name: string; color: string }[], x: number, y: number): string {
  return series
    .map((s, i) => `<rect x="${x + i * 110}" y="${y - 9}" width="10" height="10" fill="${s.color}"/><text x="${x + i * 110 + 14}" y="${y}">${escapeHtml(s.name)}</text>`)
    .join('');
}

/** Labels longer than the room they get are cut with an ellipsis (the table has them whole). */
function clip(label: string, max: number): string {
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

export interface Series {
  name: string;
  color: string;
  /** One per category; undefined draws nothing (not measured). */
  values: readonly (number | undefined)[];
}

/** Vertical grouped bars, one group per category, from zero (sizes must not be exaggerated). */
export function groupedBars(name: string, title: string, categories: readonly string[], series: readonly Series[], format: (v: number) => string, reference?: number): string {
  const BAR = 40;
  const groupWidth = Math.max(60, series.length * (BAR + 4) + 24);
  const left = 10;
  const top = 30;
  const plotHeight = 180;
  const width = Math.max(360, left * 2 + categories.length * groupWidth);
  const height = top + plotHeight + 40;
  const max = Math.max(1e-12, reference ?? 0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== undefined)));
  const bars: string[] = [];
  categories.forEach((cat, c) => {
    const x0 = left + c * groupWidth + 10;
    series.forEach((s, i) => {
      const v = s.values[c];
      if (v === undefined) return;
      const h = (v / max) * (plotHeight - 14);
      const x = x0 + i * (BAR + 4);
      const y = top + plotHeight - h;
      bars.push(`<rect x="${x}" y="${n2(y)}" width="${BAR}" height="${n2(h)}" fill="${s.color}"><title>${escapeHtml(`${cat} ${s.name}: ${format(v)}`)}</title></rect>`);
      bars.push(`<text x="${x + BAR / 2}" y="${n2(y - 3)}" text-anchor="middle" font-size="9">${escapeHtml(format(v))}</text>`);
    });
    bars.push(`<text x="${x0 + (series.length * (BAR + 4)) / 2 - 2}" y="${top + plotHeight + 14}" text-anchor="middle">${escapeHtml(clip(cat, 18))}</text>`);
  });
  let axis = `<line x1="${left}" y1="${top + plotHeight}" x2="${width - left}" y2="${top + plotHeight}" stroke="#444"/>`;
  if (reference !== undefined) {
    // E.g. 1× on a speed-up chart: bars below the line are slower than the input.
    const y = n2(top + plotHeight - (reference / max) * (plotHeight - 14));
    axis += `<line x1="${left}" y1="${y}" x2="${width - left}" y2="${y}" stroke="#a40e26" stroke-dasharray="4 3"/><text x="${width - left}" y="${Number(y) - 3}" text-anchor="end" font-size="9" fill="#a40e26">${escapeHtml(format(reference))}</text>`;
  }
  return `${svgOpen(name, title, width, height)}${legend(series, left, 14)}${axis}${bars.join('')}</svg>`;
}

export interface PairRow {
  label: string;
  before?: number;
  after?: number;
}

/** Horizontal before/after bars per row (e.g. bytes per layer), on one shared scale from zero. */
export function pairedBars(name: string, title: string, rows: readonly PairRow[], labels: [string, string], format: (v: number) => string): string {
  const labelWidth = 150;
  const plotWidth = 420;
  const rowHeight = 26;
  const top = 26;
  const width = labelWidth + plotWidth + 90;
  const height = top + rows.length * rowHeight + 6;
  const max = Math.max(1e-12, ...rows.flatMap((r) => [r.before ?? 0, r.after ?? 0]));
  const out: string[] = [];
  rows.forEach((r, i) => {
    const y = top + i * rowHeight;
    out.push(`<text x="${labelWidth - 6}" y="${y + 15}" text-anchor="end">${escapeHtml(clip(r.label, 24))}</text>`);
    const bar = (v: number | undefined, dy: number, color: string, which: string) => {
      if (v === undefined) return;
      const w = Math.max(1, (v / max) * plotWidth);
      out.push(`<rect x="${labelWidth}" y="${y + dy}" width="${n2(w)}" height="10" fill="${color}"><title>${escapeHtml(`${r.label} ${which}: ${format(v)}`)}</title></rect>`);
      out.push(`<text x="${n2(labelWidth + w + 4)}" y="${y + dy + 9}" font-size="9">${escapeHtml(format(v))}</text>`);
    };
    bar(r.before, 2, '#9aa5b1', labels[0]);
    bar(r.after, 13, PALETTE[0]!, labels[1]);
  });
  const series = [{ name: labels[0], color: '#9aa5b1' }, { name: labels[1], color: PALETTE[0]! }];
  return `${svgOpen(name, title, width, height)}${legend(series, labelWidth, 14)}${out.join('')}</svg>`;
}

export interface Point {
  label: string;
  x: number;
  y: number;
}

/** Scatter with labelled points; x from zero (size), y over the points' own range (accuracy). */
export function scatter(name: string, title: string, points: readonly Point[], axes: { x: string; y: string }, fx: (v: number) => string, fy: (v: number) => string): string {
  const left = 60;
  const bottom = 40;
  const top = 16;
  const plotWidth = 460;
  const plotHeight = 220;
  const width = left + plotWidth + 110;
  const height = top + plotHeight + bottom;
  const xMax = Math.max(1e-12, ...points.map((p) => p.x)) * 1.05;
  const ys = points.map((p) => p.y);
  let yMin = Math.min(...ys);
  let yMax = Math.max(...ys);
  const pad = Math.max((yMax - yMin) * 0.15, Math.abs(yMax) * 0.002, 1e-6);
  yMin -= pad;
  yMax += pad;
  const px = (x: number) => left + (x / xMax) * plotWidth;
  const py = (y: number) => top + plotHeight - ((y - yMin) / (yMax - yMin)) * plotHeight;
  const out: string[] = [
    `<line x1="${left}" y1="${top + plotHeight}" x2="${left + plotWidth}" y2="${top + plotHeight}" stroke="#444"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="#444"/>`,
    `<text x="${left + plotWidth / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(axes.x)}</text>`,
    `<text x="12" y="${top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 12 ${top + plotHeight / 2})">${escapeHtml(axes.y)}</text>`,
  ];
  for (const t of [0, 0.5, 1]) {
    const xv = xMax * t;
    const yv = yMin + (yMax - yMin) * t;
    out.push(`<text x="${n2(px(xv))}" y="${top + plotHeight + 14}" text-anchor="middle" font-size="9">${escapeHtml(fx(xv))}</text>`);
    out.push(`<text x="${left - 4}" y="${n2(py(yv) + 3)}" text-anchor="end" font-size="9">${escapeHtml(fy(yv))}</text>`);
  }
  points.forEach((p, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    out.push(`<circle cx="${n2(px(p.x))}" cy="${n2(py(p.y))}" r="5" fill="${color}"><title>${escapeHtml(`${p.label}: ${fx(p.x)}, ${fy(p.y)}`)}</title></circle>`);
    // Stages often share a point (a pass that leaves the size alone): stagger their labels.
    out.push(`<text x="${n2(px(p.x) + 8)}" y="${n2(py(p.y) + 4 + (i % 3) * 11 - 11)}">${escapeHtml(clip(p.label, 18))}</text>`);
  });
  return `${svgOpen(name, title, width, height)}${out.join('')}</svg>`;
}

export interface BarRow {
  label: string;
  value: number;
  color?: string;
}

/** Horizontal bars from zero, one per row (e.g. per-layer SQNR). */
export function bars(name: string, title: string, rows: readonly BarRow[], format: (v: number) => string): string {
  const labelWidth = 170;
  const plotWidth = 380;
  const rowHeight = 18;
  const width = labelWidth + plotWidth + 80;
  const height = rows.length * rowHeight + 8;
  const max = Math.max(1e-12, ...rows.map((r) => r.value));
  const out = rows.map((r, i) => {
    const y = 4 + i * rowHeight;
    const w = Math.max(1, (Math.max(0, r.value) / max) * plotWidth);
    return `<text x="${labelWidth - 6}" y="${y + 11}" text-anchor="end">${escapeHtml(clip(r.label, 28))}</text>`
      + `<rect x="${labelWidth}" y="${y + 2}" width="${n2(w)}" height="11" fill="${r.color ?? PALETTE[0]}"><title>${escapeHtml(`${r.label}: ${format(r.value)}`)}</title></rect>`
      + `<text x="${n2(labelWidth + w + 4)}" y="${y + 11}" font-size="9">${escapeHtml(format(r.value))}</text>`;
  });
  return `${svgOpen(name, title, width, height)}${out.join('')}</svg>`;
}
