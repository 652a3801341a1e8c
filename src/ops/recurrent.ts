/** Recurrent layers: W (input 1), R (2) and B (3) are [directions, gates × hidden, …]. */
import type { OpSpec } from './types.ts';

/** One scale per gate row (axis 1 of W and R). */
const GATE_ROWS = { inputs: [1, 2], axis: () => 1 } as const;

export const RECURRENT_OPS: OpSpec[] = [
  { op: 'LSTM', domain: '', category: 'recurrent', weightInputs: [1, 2, 3], weightOnly: GATE_ROWS, dynamicInteger: 'DynamicQuantizeLSTM' },
  // onnxruntime has no integer GRU or RNN: their weights are int8 + DequantizeLinear.
  ...['GRU', 'RNN'].map((op): OpSpec => ({ op, domain: '', category: 'recurrent', weightInputs: [1, 2, 3], weightOnly: GATE_ROWS })),
];
