/** Runs the built CLI (bin/shrinkray.js, needs `npm run build`) as a child, timed, with its peak RSS. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const BIN = `${root}bin/shrinkray.js`;
const TIME = '/usr/bin/time';

export interface ChildRun {
  /** The command line as a user would type it (paths as given). */
  command: string;
  status: number | null;
  seconds: number;
  /** Peak RSS of the child from /usr/bin/time -v, when that exists. */
  maxRssBytes?: number;
  /** First line of stderr when the command failed (or timed out). */
  error?: string;
}

/** Exit status of coreutils `timeout` when the time ran out. */
export const TIMED_OUT = 124;

/**
 * `argv[0]` is the program; `shrinkray` stands for the built CLI. coreutils `timeout` stops the
 * command itself (a timeout of spawnSync would kill only /usr/bin/time and orphan it).
 */
export function runChild(argv: string[], timeoutSeconds = 900): ChildRun {
  const cmd = ['timeout', '--kill-after=10', String(timeoutSeconds), ...(argv[0] === 'shrinkray' ? [process.execPath, BIN, ...argv.slice(1)] : argv)];
  const useTime = existsSync(TIME);
  const t = performance.now();
  const r = useTime ? spawnSync(TIME, ['-v', ...cmd], { encoding: 'utf8' }) : spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  const seconds = (performance.now() - t) / 1000;
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '')?.[1];
  // /usr/bin/time appends its own lines to stderr: the command's message is what comes before.
  const own = (r.stderr ?? '').split(/\n\s*Command (?:being timed|exited with)/)[0]!;
  const failed = r.status !== 0 || r.error !== undefined;
  const message = r.status === TIMED_OUT ? `stopped after ${timeoutSeconds} s` : (own.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? `exit ${r.status}`);
  const error = failed ? (r.error ? r.error.message : message) : undefined;
  return { command: argv.join(' '), status: r.status, seconds, maxRssBytes: kb ? Number(kb) * 1024 : undefined, ...(error && { error }) };
}
