/**
 * The op table's "trainable" column, keyed by default-domain op type: which ops the
 * trainable executor runs inside a training step, and how. Data only — the kernels live
 * with the executor. Starts with the layers every fixture has; the distillation work fills
 * in the rest.
 */
import type { TrainableSpec } from './types.ts';

export const TRAINABLE: Readonly<Record<string, TrainableSpec>> = {
  Conv: { trainable: 'exact', params: [1, 2] },
  Gemm: { trainable: 'exact', params: [0, 1, 2] },
  MatMul: { trainable: 'exact', params: [0, 1] },
  Relu: { trainable: 'exact' },
};
