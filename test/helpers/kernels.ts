/** Assembles the embedded WebAssembly modules from their text, as the embedded copies must be. */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import wabt from 'wabt';

const ROOT = join(import.meta.dirname, '../..');

/** Each embedded module: its WebAssembly text and the generated TypeScript file holding it. */
export const KERNEL_MODULES = {
  quant: { wat: 'src/quant/kernels/kernels.wat', target: 'src/quant/kernels/generated/kernels-wasm.ts' },
  training: { wat: 'src/runtime/tfjs/training-kernels.wat', target: 'src/runtime/tfjs/generated/training-kernels-wasm.ts' },
} as const;

export const kernelPath = (relative: string): string => join(ROOT, relative);

export async function assembleKernels(wat: string = KERNEL_MODULES.quant.wat): Promise<Uint8Array> {
  const w = await wabt();
  const mod = w.parseWat(basename(wat), readFileSync(kernelPath(wat), 'utf8'), { simd: true });
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** The generated TypeScript file for `binary`, assembled from `wat`. */
export function kernelsModuleSource(binary: Uint8Array, wat: string = KERNEL_MODULES.quant.wat): string {
  return `// Generated from ../${basename(wat)} by \`npm run build:kernels\` (wabt 1.0.39, SIMD enabled). Do not edit.\nexport const WASM_BASE64 =\n  '${Buffer.from(binary).toString('base64')}';\n`;
}
