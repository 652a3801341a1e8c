/** The registry: every pass, by name. Adding a pass = one file + one line here. */
import { InputError } from '../src/errors.ts';
import type { ExportPass, Pass } from '../src/pipeline/pass.ts';
import { exportTflitePass } from './export-tflite.ts';
import { cleanup } from './cleanup.ts';
import { distill } from './distill.ts';
import { opset } from './opset.ts';
import { prune } from './prune.ts';
import { quantize } from './quantize.ts';
import { quantizeInt4 } from './quantize-int4.ts';

/** Each pass keeps its own option types, so API users get them (`passes.quantize.options`). */
export const passes = {
  cleanup,
  opset,
  distill,
  prune,
  quantize,
  'quantize-int4': quantizeInt4,
  'export-tflite': exportTflitePass,
} as const;

export type PassName = keyof typeof passes;

export function getPass(name: string): Pass | ExportPass {
  const pass = (passes as Record<string, Pass | ExportPass | undefined>)[name];
  if (!pass) throw new InputError(`unknown pass '${name}' (available: ${Object.keys(passes).join(', ')})`);
  return pass;
}
