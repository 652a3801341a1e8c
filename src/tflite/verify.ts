/**
 * Runs an exported .tflite in the real TFLite interpreter and the source model in
 * onnxruntime on the same inputs, and measures per output: max abs error, cosine
 * similarity and, for int8 outputs, the error in quantization steps.
 */
import type { Model } from '../ir/model.ts';
import { asFloat32 } from '../runtime/batches.ts';
import { createSession } from '../runtime/ort.ts';
import type { HostTensor } from '../runtime/types.ts';
import { createTfliteRunner, type TfliteArray } from '../runtime/tflite/interpreter.ts';
import type { ExportResult, IoInfo } from './convert.ts';
import { TO_NCHW, TO_NHWC, transposeData } from './layout.ts';

export interface OutputComparison {
  name: string;
  maxAbsError: number;
  cosine: number;
  /** int8 outputs: max error divided by the output scale. */
  maxErrorSteps?: number;
}

/** One sample per input, in ONNX layout (float32). */
export type Sample = Float32Array[];

/** ONNX-layout float values → what the interpreter's input takes. */
export function toTfliteInput(info: IoInfo, x: Float32Array): ArrayLike<number> {
  const v = info.layout === 'nhwc' ? transposeData(x, info.shape, TO_NHWC) : x;
  if (info.dtype !== 'int8') return v;
  const s = info.quantization!.scale[0]!;
  const z = info.quantization!.zeroPoint[0]!;
  return Int8Array.from(v, (f) => Math.max(-128, Math.min(127, Math.round(f / s) + z)));
}

/** An interpreter output → ONNX-layout float values. */
export function fromTfliteOutput(info: IoInfo, y: TfliteArray): Float32Array {
  let f: Float32Array;
  if (info.dtype === 'int8') {
    const s = info.quantization!.scale[0]!;
    const z = info.quantization!.zeroPoint[0]!;
    f = Float32Array.from(y as Int8Array, (q) => s * (q - z));
  } else f = y instanceof Float32Array ? y : Float32Array.from(y as ArrayLike<number>);
  return info.layout === 'nhwc' ? transposeData(f, info.tfliteShape, TO_NCHW) : f;
}

/** Deterministic samples in [lo, hi) for every input. */
export function randomSamples(inputs: readonly IoInfo[], count: number, lo = -1, hi = 1, seed = 7): Sample[] {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  };
  return Array.from({ length: count }, () => inputs.map((i) => Float32Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, next)));
}

export interface Comparison {
  outputs: OutputComparison[];
  samples: number;
  /** Outputs of both runtimes (first output only), for top-1 checks. */
  tflite: Float32Array[];
  onnx: Float32Array[];
}

/**
 * Runs `samples` through both runtimes: onnxruntime first, its session closed before the
 * interpreter loads the file, so a large model is held by one runtime at a time. `onnx` is the
 * model the export was made from (encoded only for onnxruntime's session).
 */
export async function compareWithOnnx(onnx: Model | Uint8Array, result: ExportResult, samples: readonly Sample[]): Promise<Comparison> {
  const feeds = samples.map((sample) => Object.fromEntries(result.inputs.map((info, i) => [info.name, { dtype: 'float32' as const, dims: info.shape, data: sample[i]! }])));
  // Packing weights for speed is not needed for a few runs (and doubles a large model's memory).
  const session = await createSession(onnx, { threads: 1, label: 'source model', prepack: false });
  const refs: Array<Record<string, HostTensor>> = [];
  try {
    for (const f of feeds) refs.push(await session.run(f));
  } finally {
    await session.close();
  }
  const runner = await createTfliteRunner(result.bytes);
  const acc = result.outputs.map((o) => ({ name: o.name, max: 0, dot: 0, na: 0, nb: 0 }));
  const tflite: Float32Array[] = [];
  const onnxOut: Float32Array[] = [];
  try {
    samples.forEach((sample, n) => {
      const got = runner.run(result.inputs.map((info, i) => toTfliteInput(info, sample[i]!)));
      result.outputs.forEach((info, k) => {
        const a = fromTfliteOutput(info, got[k]!);
        const b = asFloat32(refs[n]![info.name]!);
        if (k === 0) {
          tflite.push(a);
          onnxOut.push(b);
        }
        const s = acc[k]!;
        for (let i = 0; i < b.length; i++) {
          s.max = Math.max(s.max, Math.abs(a[i]! - b[i]!));
          s.dot += a[i]! * b[i]!;
          s.na += a[i]! * a[i]!;
          s.nb += b[i]! * b[i]!;
        }
      });
    });
  } finally {
    runner.dispose();
  }
  const outputs = acc.map((s, k) => {
    const q = result.outputs[k]!.quantization;
    const cosine = s.na === 0 && s.nb === 0 ? 1 : s.dot / Math.sqrt(s.na * s.nb || 1);
    return { name: s.name, maxAbsError: s.max, cosine, ...(q ? { maxErrorSteps: s.max / q.scale[0]! } : {}) };
  });
  return { outputs, samples: samples.length, tflite, onnx: onnxOut };
}
