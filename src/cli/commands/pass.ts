/**
 * `shrinkray <pass> <in> -o <out> [--option …]`: one pass as its own command, its flags
 * generated from the pass's options schema (camelCase option → --kebab-case flag).
 */
import type { Argv } from 'yargs';
import type { OptionSpec } from '../../pipeline/options.ts';
import type { Pass } from '../../pipeline/pass.ts';
import type { CliIO } from '../io.ts';
import { runCompress, type OutputArgs } from './compress.ts';

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
export function passFlags<T>(y: Argv<T>, pass: Pass, taken: ReadonlySet<string>): Argv<T> {
  let out = y;
  for (const [key, spec] of Object.entries(pass.options)) {
    if (!taken.has(kebab(key))) out = out.option(kebab(key), flag(spec)) as Argv<T>;
  }
  return out;
}

export async function passCommand(pass: Pass, args: OutputArgs & Record<string, unknown>, io: CliIO): Promise<number> {
  const options: Record<string, unknown> = {};
  for (const key of Object.keys(pass.options)) if (args[key] !== undefined) options[key] = args[key];
  // The held-out set given for the pass's own accuracy budget (quantize --eval-data) is what the
  // report measures too, unless --data names another: the one --max-accuracy-drop feeds both.
  const data = args.data ?? (typeof options.evalData === 'string' && options.evalData ? options.evalData : undefined);
  return runCompress({ ...args, data }, [{ pass, options }], io);
}
