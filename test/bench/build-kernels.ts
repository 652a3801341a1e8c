/**
 * `npm run build:kernels`: assembles src/quant/kernels/kernels.wat into the embedded module
 * (src/quant/kernels/generated/kernels-wasm.ts). `--check` exits 1 when the embedded module
 * is not what the source assembles to.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleKernels, kernelsModuleSource } from '../helpers/kernels.ts';

const target = join(import.meta.dirname, '../../src/quant/kernels/generated/kernels-wasm.ts');
const source = kernelsModuleSource(await assembleKernels());
if (process.argv.includes('--check')) {
  if (readFileSync(target, 'utf8') !== source) {
    process.stderr.write(`${target} is stale: run npm run build:kernels\n`);
    process.exitCode = 1;
  }
} else writeFileSync(target, source);
