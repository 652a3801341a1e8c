/** Quantize/dequantize ops, as found in QDQ models and in already-quantized exports. */
import { dtypeFromCode } from '../onnx/dtype.ts';
import type { InferContext, OpSpec } from './types.ts';

function inferQuantize({ node, inputs }: InferContext) {
  const zp = inputs[2];
  const to = node.getInt('output_dtype');
  const dtype = zp?.dtype ?? (to ? dtypeFromCode(to) : 'uint8');
  return [{ dtype, shape: inputs[0]?.shape }];
}

function inferDequantize({ inputs }: InferContext) {
  return [{ dtype: inputs[1]?.dtype ?? 'float32', shape: inputs[0]?.shape }];
}

export const QUANTIZATION_OPS: OpSpec[] = [
  { op: 'QuantizeLinear', domain: '', category: 'quantization', infer: inferQuantize, foldable: true, quantized: true },
  { op: 'DequantizeLinear', domain: '', category: 'quantization', infer: inferDequantize, foldable: true, quantized: true },
  {
    op: 'DynamicQuantizeLinear',
    domain: '',
    category: 'quantization',
    infer: ({ inputs }) => [{ dtype: 'uint8', shape: inputs[0]?.shape }, { dtype: 'float32', shape: [] }, { dtype: 'uint8', shape: [] }],
    quantized: true,
  },
  { op: 'QuantizeLinear', domain: 'com.microsoft', category: 'quantization', infer: inferQuantize, quantized: true },
  { op: 'DequantizeLinear', domain: 'com.microsoft', category: 'quantization', infer: inferDequantize, quantized: true },
];
