/**
 * Tiny ONNX models for runtime tests, encoded straight with onnx-proto so these tests do not
 * depend on the project's own IR/codec.
 */
import onnx from 'onnx-proto';

const P = onnx.onnx;
const FLOAT = P.TensorProto.DataType.FLOAT;

export type Dim = number | string | null;

function valueInfo(name: string, elemType: number, dims: readonly Dim[]): onnx.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})),
        },
      },
    },
  };
}

function encode(graph: onnx.onnx.IGraphProto, opset = 17): Uint8Array {
  return P.ModelProto.encode({
    irVersion: 8,
    producerName: 'shrinkray-test',
    opsetImport: [{ domain: '', version: opset }],
    graph,
  }).finish();
}

export interface Classifier {
  bytes: Uint8Array;
  /** Row-major [features, classes]. */
  w: Float64Array;
  b: Float64Array;
  features: number;
  classes: number;
}

/**
 * softmax(x · W + B) with fixed weights; `batch` is the leading input dim (a number fixes it,
 * a string makes it symbolic, null leaves it unnamed).
 */
export function classifier(opts: { features?: number; classes?: number; batch?: Dim } = {}): Classifier {
  const features = opts.features ?? 4;
  const classes = opts.classes ?? 3;
  const batch = opts.batch === undefined ? 'N' : opts.batch;
  const w = Float64Array.from({ length: features * classes }, (_, i) => Math.sin(i * 1.7 + 0.3) * 2);
  const b = Float64Array.from({ length: classes }, (_, i) => (i - 1) * 0.25);
  const bytes = encode({
    name: 'tiny-classifier',
    node: [
      { opType: 'MatMul', input: ['x', 'W'], output: ['h'] },
      { opType: 'Add', input: ['h', 'B'], output: ['z'] },
      { opType: 'Softmax', input: ['z'], output: ['probs'], attribute: [{ name: 'axis', type: P.AttributeProto.AttributeType.INT, i: -1 }] },
    ],
    initializer: [
      { name: 'W', dataType: FLOAT, dims: [features, classes], floatData: Array.from(w) },
      { name: 'B', dataType: FLOAT, dims: [classes], floatData: Array.from(b) },
    ],
    input: [valueInfo('x', FLOAT, [batch, features])],
    output: [valueInfo('probs', FLOAT, [batch, classes])],
  });
  return { bytes, w: toF32(w), b: toF32(b), features, classes };
}

/** Weights as the model stores them (float32), widened back to float64 for the reference. */
function toF32(a: Float64Array): Float64Array {
  return Float64Array.from(Float32Array.from(a));
}

/** The float64 reference of `classifier`: softmax(x · W + B), row-major [n, classes]. */
export function referenceClassifier(m: Classifier, x: ArrayLike<number>): Float64Array {
  const n = x.length / m.features;
  const out = new Float64Array(n * m.classes);
  for (let r = 0; r < n; r++) {
    const z = new Float64Array(m.classes);
    for (let c = 0; c < m.classes; c++) {
      let s = m.b[c]!;
      for (let f = 0; f < m.features; f++) s += x[r * m.features + f]! * m.w[f * m.classes + c]!;
      z[c] = s;
    }
    const max = Math.max(...z);
    let sum = 0;
    for (let c = 0; c < m.classes; c++) sum += (z[c] = Math.exp(z[c]! - max));
    for (let c = 0; c < m.classes; c++) out[r * m.classes + c] = z[c]! / sum;
  }
  return out;
}

/**
 * Three inputs of different dtypes (float32 [N,4], int64 [N,2], uint8 [N,3]) cast to float and
 * returned as three outputs: checks that every input gets a well-typed feed.
 */
export function mixedInputs(): Uint8Array {
  const D = P.TensorProto.DataType;
  const cast = (from: string, to: string): onnx.onnx.INodeProto => ({
    opType: 'Cast', input: [from], output: [to], attribute: [{ name: 'to', type: P.AttributeProto.AttributeType.INT, i: FLOAT }],
  });
  return encode({
    name: 'mixed-inputs',
    node: [cast('f', 'f_out'), cast('i', 'i_out'), cast('u', 'u_out')],
    input: [valueInfo('f', D.FLOAT, ['batch', 4]), valueInfo('i', D.INT64, ['batch', 2]), valueInfo('u', D.UINT8, ['batch', 3])],
    output: [valueInfo('f_out', FLOAT, ['batch', 4]), valueInfo('i_out', FLOAT, ['batch', 2]), valueInfo('u_out', FLOAT, ['batch', 3])],
  });
}

/** y = Identity(x) with the given input shape and element type (default float32). */
export function identity(shape: readonly Dim[], elemType: number = FLOAT): Uint8Array {
  return encode({
    name: 'identity',
    node: [{ opType: 'Identity', input: ['x'], output: ['y'] }],
    input: [valueInfo('x', elemType, shape)],
    output: [valueInfo('y', elemType, shape)],
  });
}

export const FLOAT16 = P.TensorProto.DataType.FLOAT16;
