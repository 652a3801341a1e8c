/** `shrinkray passes`: the registry, with each pass's options and defaults. */
import { passes } from '../../../passes/index.ts';
import type { CliIO, GlobalArgs } from '../io.ts';

export async function passesCommand(args: GlobalArgs, io: CliIO): Promise<number> {
  const all = Object.values(passes).map((p) => ({ name: p.name, kind: p.kind, description: p.description, options: p.options }));
  if (args.json) {
    io.stdout.write(JSON.stringify(all, null, 2) + '\n');
    return 0;
  }
  for (const p of all) {
    io.stdout.write(`${p.name} (${p.kind}): ${p.description}\n`);
    for (const [key, o] of Object.entries(p.options)) io.stdout.write(`  ${key} = ${JSON.stringify(o.default)}  ${o.description}\n`);
  }
  return 0;
}
