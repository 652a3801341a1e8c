import { describe, expect, it } from 'vitest';
import { WASM_BASE64 } from '../../src/quant/kernels/generated/kernels-wasm.ts';
import { assembleKernels } from '../helpers/kernels.ts';

describe('kernels: the embedded module', () => {
  it('kernels: the embedded WebAssembly is exactly what kernels.wat assembles to', async () => {
    expect(Buffer.from(await assembleKernels()).toString('base64')).toBe(WASM_BASE64);
  });
});
