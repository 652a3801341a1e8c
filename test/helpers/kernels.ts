/** Assembles the SIMD weight kernels from their WebAssembly text, as the embedded module must be. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import wabt from 'wabt';

const WAT = join(import.meta.dirname, '../../src/quant/kernels/kernels.wat');

export async function assembleKernels(): Promise<Uint8Array> {
  const w = await wabt();
  const mod = w.parseWat('kernels.wat', readFileSync(WAT, 'utf8'), { simd: true });
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** The generated TypeScript file for `binary`. */
export function kernelsModuleSource(binary: Uint8Array): string {
  return `// Generated from ../kernels.wat by \`npm run build:kernels\` (wabt 1.0.39, SIMD enabled). Do not edit.\nexport const WASM_BASE64 =\n  '${Buffer.from(binary).toString('base64')}';\n`;
}
