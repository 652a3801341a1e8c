/** Every lowering, keyed by ONNX op type (the keys of TFLITE_OPS in src/ops/tflite.ts). */
import { CONV_LOWERINGS } from './conv.ts';
import { DENSE_LOWERINGS } from './dense.ts';
import { ELEMENTWISE_LOWERINGS } from './elementwise.ts';
import { QUANT_LOWERINGS } from './quant.ts';
import { RESIZE_LOWERINGS } from './resize.ts';
import { SHAPE_LOWERINGS } from './shape.ts';
import type { Lowering } from './types.ts';

export const LOWERINGS: Readonly<Record<string, Lowering>> = {
  ...CONV_LOWERINGS,
  ...DENSE_LOWERINGS,
  ...ELEMENTWISE_LOWERINGS,
  ...SHAPE_LOWERINGS,
  ...QUANT_LOWERINGS,
  ...RESIZE_LOWERINGS,
};
