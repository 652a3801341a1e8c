/**
 * Pipeline progress on the terminal: an ora spinner per pass when stderr is a terminal,
 * one plain line per finished pass otherwise (CI logs), nothing with --json or --quiet.
 */
import ora, { type Ora } from 'ora';
import type { PipelineEvents } from '../pipeline/run.ts';
import { formatSize } from '../report/size.ts';
import type { CliIO } from './io.ts';

export function pipelineProgress(io: CliIO, silent: boolean): PipelineEvents {
  if (silent) return {};
  let spinner: Ora | undefined;
  const interactive = Boolean(io.stderr.isTTY);
  return {
    onPassStart(pass, index, total) {
      const text = `[${index + 1}/${total}] ${pass}`;
      if (interactive) spinner = ora({ text, stream: process.stderr }).start();
    },
    onProgress(pass, fraction, label) {
      if (spinner) spinner.text = `${pass} ${Math.round(fraction * 100)}%${label ? ` (${label})` : ''}`;
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
    },
  };
}
