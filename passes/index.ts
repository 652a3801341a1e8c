/** The registry: every pass, by name. Adding a pass = one file + one line here. */
import { InputError } from '../src/errors.ts';
import type { Pass } from '../src/pipeline/pass.ts';
import { cleanup } from './cleanup.ts';
import { distill } from './distill.ts';
import { prune } from './prune.ts';
import { quantize } from './quantize.ts';
import { quantizeInt4 } from './quantize-int4.ts';

export const passes: Readonly<Record<string, Pass>> = {
  [cleanup.name]: cleanup as unknown as Pass,
  [distill.name]: distill as unknown as Pass,
  [prune.name]: prune as unknown as Pass,
  [quantize.name]: quantize as unknown as Pass,
  [quantizeInt4.name]: quantizeInt4 as unknown as Pass,
};

export function getPass(name: string): Pass {
  const pass = passes[name];
  if (!pass) throw new InputError(`unknown pass '${name}' (available: ${Object.keys(passes).join(', ')})`);
  return pass;
}
