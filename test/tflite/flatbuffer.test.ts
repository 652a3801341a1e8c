import { describe, expect, it } from 'vitest';
import { sizeEstimate, writeTflite } from '../../src/tflite/flatbuffer.ts';
import type { TflModel } from '../../src/tflite/model.ts';
import { isTflite, readTflite } from '../../src/tflite/read.ts';
import { createTfliteRunner } from '../../src/runtime/tflite/interpreter.ts';

const w = new Float32Array([1, 2, 3, 4, 5, 6]);
const model: TflModel = {
  description: 'hand-built',
  tensors: [
    { name: 'x', shape: [1, 3], type: 'FLOAT32' },
    { name: 'w', shape: [2, 3], type: 'FLOAT32', data: new Uint8Array(w.buffer) },
    { name: 'h', shape: [1, 2], type: 'FLOAT32' },
    { name: 'y', shape: [1, 2], type: 'FLOAT32' },
    { name: 'q', shape: [2], type: 'INT8', data: new Uint8Array(Int8Array.of(-127, 5).buffer), quantization: { scale: [0.5, 0.25], zeroPoint: [0, 0], axis: 0 } },
  ],
  inputs: [0],
  outputs: [3],
  operators: [
    { op: 'FULLY_CONNECTED', version: 1, inputs: [0, 1, -1], outputs: [2], options: { name: 'FullyConnectedOptions', fields: [{ slot: 0, kind: 'int8', value: 0 }] } },
    { op: 'GELU', version: 1, inputs: [2], outputs: [3], options: { name: 'GeluOptions', fields: [{ slot: 0, kind: 'bool', value: false }] } },
  ],
};

describe('export-tflite: flatbuffer', () => {
  it('export-tflite: a written file reads back (codes above 127, per-axis quantization) and runs', async () => {
    const bytes = writeTflite(model);
    expect(isTflite(bytes)).toBe(true);
    const back = readTflite(bytes);
    expect(back.operators.map((o) => o.op)).toEqual(['FULLY_CONNECTED', 'GELU']);
    expect(back.tensors[4]!.quantization).toEqual({ scale: [0.5, 0.25], zeroPoint: [0, 0], axis: 0 });
    expect(Array.from(new Float32Array(back.tensors[1]!.data!.slice().buffer))).toEqual(Array.from(w));
    // Aligned within the file (the bytes are a view of the writer's buffer, which starts before the file does).
    expect((back.tensors[1]!.data!.byteOffset - bytes.byteOffset) % 16).toBe(0);
    const runner = await createTfliteRunner(bytes);
    const [y] = runner.run([[1, 0.5, -1]]);
    // FC: [-1, 0.5]; GELU(-1) = −0.158655, GELU(0.5) = 0.345731
    expect(y![0]).toBeCloseTo(-0.158655, 5);
    expect(y![1]).toBeCloseTo(0.345731, 5);
  });

  it('export-tflite: the builder is sized up front (it never doubles: doubling a 1 GiB model passed the 2 GiB flatbuffer limit)', () => {
    // Many tensors with long names and per-channel parameters: the metadata outweighs the data.
    const many: TflModel = {
      ...model,
      tensors: [...model.tensors, ...Array.from({ length: 300 }, (_, i) => ({ name: `a/rather/long/exporter/scope/name/${i}/weight_quantized`, shape: [64, 3, 3, 3], type: 'INT8' as const, data: new Uint8Array(64 * 27), quantization: { scale: new Array(64).fill(0.1), zeroPoint: new Array(64).fill(0), axis: 0 } }))],
    };
    for (const m of [model, many]) expect(writeTflite(m).byteLength).toBeLessThanOrEqual(sizeEstimate(m));
  });
});

