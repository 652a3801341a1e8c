/** `shrinkray <pass> <in> -o <out> [--option …]`: one pass as its own command (flags: cli/pass-flags.ts). */
import type { Pass } from '../../pipeline/pass.ts';
import type { CliIO } from '../io.ts';
import { runCompress, type OutputArgs } from './compress.ts';

export async function passCommand(pass: Pass, args: OutputArgs & Record<string, unknown>, io: CliIO): Promise<number> {
  const options: Record<string, unknown> = {};
  for (const key of Object.keys(pass.options)) if (args[key] !== undefined) options[key] = args[key];
  // The held-out set given for the pass's own accuracy budget (quantize --eval-data) is what the
  // report measures too, unless --data names another: the one --max-accuracy-drop feeds both.
  const data = args.data ?? (typeof options.evalData === 'string' && options.evalData ? options.evalData : undefined);
  return runCompress({ ...args, data }, [{ pass, options }], io);
}
