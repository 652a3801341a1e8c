/**
 * Protobuf merges a singular message field given twice (issue 14 fuzz, seed 2026 case 178:
 * a duplicated `type` made onnxruntime see x as [3,3] while we read [3], and verification
 * then failed on our own output). The loader must read the model onnxruntime runs.
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { FLOAT, ONNX, concat, f, float32Bytes, model, node, rawTensor } from '../helpers/proto.ts';

const dim = (d: number) => f.message(ONNX.shape.dim, f.varint(ONNX.dim.dim_value, d));
const type = (...dims: number[]) => f.message(ONNX.valueInfo.type, f.message(ONNX.type.tensor_type, f.varint(ONNX.tensorType.elem_type, FLOAT), f.message(ONNX.tensorType.shape, ...dims.map(dim))));

describe('io: protobuf merge of repeated singular messages', () => {
  it('io: a value type given twice merges (dims concatenate), and saving writes the merged type once', async () => {
    const x = concat(f.len(ONNX.valueInfo.name, 'x'), type(3), type(4));
    const bytes = model([
      f.message(ONNX.graph.node, node('Add', ['x', 'b'], ['y'], 'add')),
      f.len(ONNX.graph.name, 'g'),
      f.message(ONNX.graph.initializer, rawTensor('b', FLOAT, [1], float32Bytes([1]))),
      f.message(ONNX.graph.input, x),
      f.message(ONNX.graph.output, concat(f.len(ONNX.valueInfo.name, 'y'), type(3, 4))),
    ]);
    const m = await loadModel(bytes);
    expect(m.graph.inputs[0]!.type).toEqual({ dtype: 'float32', shape: [3, 4] });
    const again = await loadModel(modelToBytes(m));
    expect(again.graph.inputs[0]!.type).toEqual({ dtype: 'float32', shape: [3, 4] });
  });
});
