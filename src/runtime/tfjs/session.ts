/**
 * The tfjs executor behind the one runtime interface (runtime/types.ts): accuracy and
 * calibration code can run a graph here as on onnxruntime. Runs are inference mode.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../../errors.ts';
import { loadModel } from '../../io/load.ts';
import type { Model } from '../../ir/model.ts';
import { asFloat32 } from '../batches.ts';
import { isFloatDType, type DType, type TypedArray } from '../../onnx/dtype.ts';
import { initTrainingBackend } from '../../train/backend.ts';
import type { GraphSession, HostTensor, OpenOptions, Runtime, ValueSpec } from '../types.ts';
import { TrainableGraph } from './executor.ts';

export function toTf(name: string, t: HostTensor): tf.Tensor {
  // tf.tensor copies into the backend: the host array needs no copy of its own.
  if (isFloatDType(t.dtype)) return tf.tensor(asFloat32(t), [...t.dims], 'float32');
  if (t.dtype === 'bool') return tf.tensor(Array.from(t.data as Uint8Array, Boolean), [...t.dims], 'bool');
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) return tf.tensor(Int32Array.from(t.data, Number), [...t.dims], 'int32');
  if (ArrayBuffer.isView(t.data)) return tf.tensor(Int32Array.from(t.data as ArrayLike<number>), [...t.dims], 'int32');
  throw new InputError(`input '${name}': ${t.dtype} tensors are not supported by the tfjs executor`);
}

const OUT_ARRAY: Partial<Record<DType, (v: Float32Array | Int32Array) => TypedArray>> = {
  float32: (v) => Float32Array.from(v),
  int8: (v) => Int8Array.from(v),
  uint8: (v) => Uint8Array.from(v),
  int16: (v) => Int16Array.from(v),
  uint16: (v) => Uint16Array.from(v),
  int32: (v) => Int32Array.from(v),
  int64: (v) => BigInt64Array.from(v, (x) => BigInt(x)),
};

export function valueSpecs(values: Model['graph']['inputs']): ValueSpec[] {
  return values.map((v) => ({ name: v.name, dtype: v.type?.dtype, shape: v.type?.shape?.map((d) => d ?? '') }));
}

export class TfjsSession implements GraphSession {
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];

  constructor(readonly graph: TrainableGraph, readonly label: string) {
    const g = graph.model.graph;
    this.inputs = valueSpecs(g.inputs.filter((i) => !g.initializers.has(i.name)));
    this.outputs = valueSpecs(g.outputs);
  }

  async run(feeds: Readonly<Record<string, HostTensor>>, fetches?: readonly string[]): Promise<Record<string, HostTensor>> {
    const fetch = fetches ?? this.outputs.map((o) => o.name);
    const computed = tf.tidy(() => {
      const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toTf(k, v)]));
      const values = this.graph.run(inputs, { fetch });
      return fetch.map((name) => ({ name, dtype: values[name]!.dtype, tensor: values[name]!.nchw() }));
    });
    const out: Record<string, HostTensor> = {};
    for (const { name, dtype, tensor } of computed) {
      const data = (await tensor.data()) as Float32Array | Int32Array;
      const convert = OUT_ARRAY[isFloatDType(dtype) ? 'float32' : dtype] ?? OUT_ARRAY.float32!;
      out[name] = { dtype: isFloatDType(dtype) ? 'float32' : dtype, dims: tensor.shape, data: convert(data) };
      tensor.dispose();
    }
    return out;
  }

  async close(): Promise<void> {
    this.graph.dispose();
  }
}

export const tfjsRuntime: Runtime = {
  name: 'tfjs',
  async open(model: Model | string, options: OpenOptions = {}): Promise<GraphSession> {
    await initTrainingBackend();
    const label = typeof model === 'string' ? model : (options.label ?? 'model');
    const m = typeof model === 'string' ? await loadModel(model) : model;
    return new TfjsSession(new TrainableGraph(m, { label }), label);
  },
};
