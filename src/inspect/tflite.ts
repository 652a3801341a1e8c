/** What `inspect` reports for a `.tflite` file: ops with versions, tensors with sizes and quantization. */
import { readTflite } from '../tflite/read.ts';

export interface TfliteSummary {
  format: 'tflite';
  schemaVersion: number;
  description: string;
  inputs: { name: string; type: string; shape: number[] }[];
  outputs: { name: string; type: string; shape: number[] }[];
  operators: { op: string; version: number; count: number }[];
  constantBytes: number;
  tensors: { name: string; type: string; shape: number[]; bytes: number; quantization?: string }[];
}

const describeQuant = (q: { scale: number[]; zeroPoint: number[]; axis?: number }) =>
  q.scale.length > 1
    ? `per-axis (dim ${q.axis ?? 0}, ${q.scale.length} scales ${Math.min(...q.scale).toExponential(2)}…${Math.max(...q.scale).toExponential(2)}), zero point ${q.zeroPoint.every((z) => z === 0) ? '0' : 'varies'}`
    : `scale ${q.scale[0]!.toExponential(3)}, zero point ${q.zeroPoint[0]}`;

export function summarizeTflite(bytes: Uint8Array, label: string): TfliteSummary {
  const m = readTflite(bytes, label);
  const ops = new Map<string, { op: string; version: number; count: number }>();
  for (const o of m.operators) {
    const key = `${o.op} v${o.version}`;
    const row = ops.get(key) ?? { op: o.op, version: o.version, count: 0 };
    row.count++;
    ops.set(key, row);
  }
  const io = (i: number) => ({ name: m.tensors[i]!.name, type: m.tensors[i]!.type, shape: m.tensors[i]!.shape });
  return {
    format: 'tflite',
    schemaVersion: m.version,
    description: m.description,
    inputs: m.inputs.map(io),
    outputs: m.outputs.map(io),
    operators: [...ops.values()],
    constantBytes: m.tensors.reduce((s, t) => s + (t.data?.length ?? 0), 0),
    tensors: m.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, bytes: t.data?.length ?? 0, ...(t.quantization ? { quantization: describeQuant(t.quantization) } : {}) })),
  };
}
