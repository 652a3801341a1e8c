/** Every kernel of the tfjs executor, by ONNX op type (default domain). */
import { CONV_KERNELS } from './conv.ts';
import { ELEMENTWISE_KERNELS } from './elementwise.ts';
import type { KernelSpec, KernelTable } from './kernel.ts';
import { MATMUL_KERNELS } from './matmul.ts';
import { NORMALIZATION_KERNELS } from './normalization.ts';
import { POOL_KERNELS } from './pool.ts';
import { QUANTIZATION_KERNELS } from './quantization.ts';
import { REDUCE_KERNELS } from './reduce.ts';
import { SHAPE_KERNELS } from './shape.ts';

export const KERNELS: KernelTable = {
  ...CONV_KERNELS,
  ...ELEMENTWISE_KERNELS,
  ...MATMUL_KERNELS,
  ...NORMALIZATION_KERNELS,
  ...POOL_KERNELS,
  ...QUANTIZATION_KERNELS,
  ...REDUCE_KERNELS,
  ...SHAPE_KERNELS,
};

export function kernelFor(opType: string): KernelSpec | undefined {
  return Object.hasOwn(KERNELS, opType) ? KERNELS[opType] : undefined;
}
