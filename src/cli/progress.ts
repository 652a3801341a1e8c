/**
 * Pipeline progress, on stderr only (stdout carries the report). On a terminal: an ora
 * spinner per pass that becomes a bar with count, rate and ETA once the pass has run for a
 * second (shorter ones would only flicker). Not a terminal (CI logs): one plain line per
 * finished pass. Nothing with --json or --quiet. NO_COLOR turns colours off (ora's spinner
 * colour ignores it by itself; its symbols already honour it).
 *
 * No bar library: ora (already a dependency) redraws the line, and the bar is one function.
 */
import ora, { type Ora } from 'ora';
import type { PipelineEvents } from '../pipeline/run.ts';
import { formatSize } from '../report/size.ts';
import type { CliIO } from './io.ts';

/** Bars appear for steps that have run this long. */
export const BAR_AFTER_MS = 1000;
const WIDTH = 24;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}

const COUNT = /(\d+)\s*\/\s*(\d+)/;
const perSecond = (rate: number) => (rate >= 10 ? rate.toFixed(0) : rate.toFixed(2).replace(/0$/, ''));

/**
 * `quantize ██████░░░░ 62% 310/500 · 95/s · ETA 2s (calibrating)`. Count and rate come from a
 * `done/total` in the pass's label (batches, layers …); without one, percentage and ETA only.
 * With `stepMs` (how long the label's step — the label up to its count — has run), the count's
 * rate and the time left are the step's own: a pass's phases (ranking, fallback, placement)
 * differ too much in pace for the pass's fraction to predict one of them.
 */
export function renderBar(pass: string, fraction: number, elapsedMs: number, label?: string, stepMs?: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
  const seconds = elapsedMs / 1000;
  const counted = label ? COUNT.exec(label) : null;
  const eta = f > 0 ? (seconds * (1 - f)) / f : Infinity;
  if (counted && stepMs !== undefined) {
    const done = Number(counted[1]);
    const rate = done / (stepMs / 1000);
    const left = rate > 0 ? (Number(counted[2]) - done) / rate : Infinity;
    return `${pass} ${bar} ${Math.round(f * 100)}% · ETA ${duration(eta)} (${label} · ${perSecond(rate)}/s · ${duration(left)} left)`;
  }
  let count = '';
  if (counted && seconds > 0) count = ` ${counted[1]}/${counted[2]} · ${perSecond(Number(counted[1]) / seconds)}/s`;
  return `${pass} ${bar} ${Math.round(f * 100)}%${count} · ETA ${duration(eta)}${label ? ` (${label})` : ''}`;
}

/** A label's step: the text before its `done/total` count (undefined without one). */
export const stepOf = (label?: string) => (label && COUNT.test(label) ? label.slice(0, label.search(COUNT)) : undefined);

export function noColor(env: NodeJS.ProcessEnv = process.env): boolean {
  // no-color.org: present and not empty.
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}

export function pipelineProgress(io: CliIO, silent: boolean): PipelineEvents {
  if (silent) return {};
  let spinner: Ora | undefined;
  let started = 0;
  let step: { key: string; started: number } | undefined;
  const interactive = Boolean(io.stderr.isTTY);
  return {
    onPassStart(pass, index, total) {
      const text = `[${index + 1}/${total}] ${pass}`;
      started = performance.now();
      if (interactive) spinner = ora({ text, stream: process.stderr, ...(noColor() && { color: false as const }) }).start();
    },
    onProgress(pass, fraction, label) {
      if (!spinner) return;
      const now = performance.now();
      const key = stepOf(label);
      if (key === undefined) step = undefined;
      else if (step?.key !== key) step = { key, started: now };
      const elapsed = now - started;
      spinner.text = elapsed >= BAR_AFTER_MS ? renderBar(pass, fraction, elapsed, label, step && now - step.started) : `${pass} ${Math.round(fraction * 100)}%${label ? ` (${label})` : ''}`;
    },
    onNote(message) {
      if (spinner) spinner.info(message).start();
      else io.stderr.write(`note: ${message}\n`);
    },
    onPassEnd(r) {
      const changes = Object.entries(r.changes).map(([k, v]) => `${k} ${v}`).join(', ') || 'no change';
      const text = `${r.pass}: ${changes} — ${formatSize(r.bytes)} in ${r.seconds.toFixed(2)} s`;
      if (spinner) spinner.succeed(text);
      else io.stderr.write(`${text}\n`);
      spinner = undefined;
    },
  };
}
