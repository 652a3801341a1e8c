/**
 * Why a command failed or did nothing on a real model, from the message it printed (never
 * from the model's name), with the issue-10 item that owns the fix. The bench prints these
 * beside each failure in docs/real-models.md.
 */
interface Cause {
  test: RegExp;
  why: string;
}

const CAUSES: Cause[] = [
  { test: /budget minSqnr failed/, why: 'harm caught: the quality gate (item 7) measured the output under its 20 dB floor on the 32 data-like samples, so nothing was written. Static int8 first returns layers to float until the floor holds, dynamic int8 moves them down its ladder (weight-only int8, then float) on the data the gate judges; pruning does not fall back' },
  { test: /floor \d+ dB cannot be met: .*only the float model meets it/, why: 'harm caught by the fallback itself (item 7): with every layer but one in float the output is still under the floor, so no int8 model meets it; exit 1, nothing written' },
  { test: /quality gate: the output could not be compared/, why: 'the quality gate could not run the model on its inputs: exit 1 rather than an unchecked result (item 7)' },
  { test: /cannot convert .* from opset \d+ to \d+/, why: 'the opset converter has no adapter for this op change (or the change cannot be expressed) — item 3 (`opset`)' },
  { test: /feeds exactly one|no array 'x' \(arrays: /, why: 'several inputs (audio + state + sample rate): multi-input data — item 5 (`datagate`)' },
  { test: /no Conv\/Gemm\/MatMul layer with a constant float weight/, why: 'the weights sit in Constant nodes or inside If/Loop bodies, or in LSTM ops: item 2 (`weights`)' },
  { test: /no node was quantized|nothing to quantize|quantized nothing/i, why: 'no layer reachable: weights in Constant nodes/subgraphs (item 2) or Conv-only model in dynamic mode (item 4, `weights`)' },
  { test: /already quantized/, why: 'already-quantized model recognised and left as it is — item 8' },
  { test: /cannot follow|channels .* cannot|unsupported/i, why: 'structured pruning cannot follow channels through this pattern — item 9 (`weights`)' },
  { test: /symbolic dim|dynamic dim/, why: 'a free input dim nobody sized — item 1 (give `--input-shape`)' },
  { test: /Infinity|NaN/, why: 'non-finite constant — item 6' },
];

export interface Outcome {
  command: string;
  exit: number;
  message: string;
  comparison?: string;
  sizeRatio?: number;
  cosine?: number;
}

/** The cause of a failure, of a result that did not shrink, or of harm done with exit 0; '' when none. */
export function explain(row: Outcome): string {
  const text = row.comparison ?? row.message;
  const known = CAUSES.find((c) => c.test.test(text))?.why;
  if (row.exit !== 0 || row.comparison) return known ?? (row.exit === 3 ? 'internal error (bug)' : '');
  // Quantization shrinks dense storage; magnitude pruning does not (zeros stay stored).
  const shrinks = row.command.startsWith('int');
  if (shrinks && row.sizeRatio !== undefined && row.sizeRatio > 0.97) return `exit 0, size unchanged${known ? `: ${known}` : ' (nothing this command reaches in the model)'}`;
  if (row.cosine !== undefined && row.cosine < 0.99) return 'exit 0 with output cosine < 0.99 on the 8 comparison samples: the gate measured at least 20 dB SQNR on its 32 samples';
  return '';
}
