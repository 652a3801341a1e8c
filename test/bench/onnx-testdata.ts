/** The ONNX backend test data (libonnx-testdata): TensorProto files as onnxruntime tensors, and the suite's tolerance. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { tensorFromProto } from '../../src/io/from-proto.ts';
import { decodeMessage } from '../../src/onnx/codec.ts';
import { Tensor as TensorDesc } from '../../src/onnx/schema.ts';
import { MemorySource } from '../../src/onnx/source.ts';
import { Reader } from '../../src/onnx/wire.ts';

const ORT_TYPE: Record<string, ort.Tensor.Type> = {
  float32: 'float32', float64: 'float64', int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16', int32: 'int32',
  uint32: 'uint32', int64: 'int64', uint64: 'uint64', bool: 'bool', float16: 'float16', string: 'string',
};

/** A TensorProto file as an onnxruntime tensor (throws for sequences, optionals and odd dtypes). */
export function readTensor(path: string): { name: string; tensor: ort.Tensor } {
  const bytes = new Uint8Array(readFileSync(path));
  const proto = decodeMessage(new Reader(new MemorySource(bytes), 0, bytes.length), TensorDesc);
  const t = tensorFromProto(proto, { resolveExternal: () => { throw new Error('external'); }, checkRange() {} });
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new Error(`dtype ${t.dtype}`);
  const data = t.payload.kind === 'strings' ? t.payload.values.map((v) => new TextDecoder().decode(v as Uint8Array)) : t.typed();
  return { name: t.name, tensor: new ort.Tensor(type, data as never, t.dims) };
}

/** Equal within the backend suite's tolerance (rtol 1e-3, atol 1e-5), NaN equal to NaN. */
export function close(a: ort.Tensor, b: ort.Tensor): boolean {
  if (a.type !== b.type || a.dims.join() !== b.dims.join()) return false;
  const x = a.data as ArrayLike<number | bigint | string>;
  const y = b.data as ArrayLike<number | bigint | string>;
  for (let i = 0; i < x.length; i++) {
    if (typeof x[i] !== 'number') {
      if (x[i] !== y[i]) return false;
      continue;
    }
    const [p, q] = [x[i] as number, y[i] as number];
    if (Number.isNaN(p) && Number.isNaN(q)) continue;
    if (p === q) continue;
    if (!(Math.abs(p - q) <= 1e-5 + 1e-3 * Math.abs(q))) return false;
  }
  return true;
}


export interface TestData {
  inputs: Array<{ name: string; tensor: ort.Tensor }>;
  outputs: Array<{ name: string; tensor: ort.Tensor }>;
}

/** A model directory's test_data_set_0, in input/output order; or why it has none usable. */
export function testData(dir: string): TestData | 'no-test-data' | 'non-tensor-io' {
  const data = join(dir, 'test_data_set_0');
  if (!existsSync(data)) return 'no-test-data';
  try {
    const files = readdirSync(data).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    return {
      inputs: files.filter((f) => f.startsWith('input_')).map((f) => readTensor(join(data, f))),
      outputs: files.filter((f) => f.startsWith('output_')).map((f) => readTensor(join(data, f))),
    };
  } catch {
    return 'non-tensor-io';
  }
}
