import { describe, expect, it } from 'vitest';
import { WASM_BASE64 } from '../../../src/runtime/tfjs/generated/training-kernels-wasm.ts';
import { assembleKernels, KERNEL_MODULES } from '../../helpers/kernels.ts';

describe('training kernels: the embedded module', () => {
  it('training kernels: the embedded WebAssembly is exactly what training-kernels.wat assembles to', async () => {
    expect(Buffer.from(await assembleKernels(KERNEL_MODULES.training.wat)).toString('base64')).toBe(WASM_BASE64);
  });
});
