/**
 * A pass's options as command-line flags, generated from its schema (camelCase option →
 * --kebab-case flag). Kept apart from the command itself so declaring the CLI loads no engine.
 */
import type { Argv } from 'yargs';
import type { OptionSpec } from '../pipeline/options.ts';
import type { ExportPass, Pass } from '../pipeline/pass.ts';

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function flag(spec: OptionSpec) {
  switch (spec.type) {
    case 'number':
      return { type: 'number' as const, describe: spec.description, default: spec.default };
    case 'boolean':
      return { type: 'boolean' as const, describe: spec.description, default: spec.default };
    case 'enum':
      return { type: 'string' as const, describe: spec.description, default: spec.default, choices: [...spec.values] };
    case 'list':
      return { type: 'string' as const, describe: `${spec.description} (comma-separated)`, default: spec.default.join(',') };
    case 'string':
      return { type: 'string' as const, describe: spec.description, default: spec.default };
  }
}

/**
 * Declares the pass's options as flags. An option named like a flag the command already has
 * (e.g. quantize's maxAccuracyDrop and the report budget) is not declared twice: the one
 * flag feeds both.
 */
export function passFlags<T>(y: Argv<T>, pass: Pass | ExportPass, taken: ReadonlySet<string>): Argv<T> {
  let out = y;
  for (const [key, spec] of Object.entries(pass.options)) {
    if (!taken.has(kebab(key))) out = out.option(kebab(key), flag(spec)) as Argv<T>;
  }
  return out;
}

