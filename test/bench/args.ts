/** Command-line flags of the bench scripts: `--name value` and bare `--name`. */

/** The value after `--name`, or `fallback` when the flag is absent or has no value. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  return v && !v.startsWith('--') ? v : fallback;
}

/** Whether the bare flag `--name` was given. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
