/**
 * `npm run build:kernels`: assembles each embedded WebAssembly module (test/helpers/kernels.ts:
 * src/quant/kernels/kernels.wat, src/runtime/tfjs/training-kernels.wat) into its generated
 * TypeScript file. `--check` exits 1 when an embedded module is not what its source assembles to.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { assembleKernels, KERNEL_MODULES, kernelPath, kernelsModuleSource } from '../helpers/kernels.ts';

for (const { wat, target } of Object.values(KERNEL_MODULES)) {
  const path = kernelPath(target);
  const source = kernelsModuleSource(await assembleKernels(wat), wat);
  if (process.argv.includes('--check')) {
    if (readFileSync(path, 'utf8') !== source) {
      process.stderr.write(`${path} is stale: run npm run build:kernels\n`);
      process.exitCode = 1;
    }
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, source);
  }
}
