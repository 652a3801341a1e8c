/**
 * Writes a TflModel as a `.tflite` flatbuffer (schema version 3, file identifier "TFL3"),
 * field slots as declared in schema.fbs. Constant buffers are 16-byte aligned; buffer 0 is
 * the empty sentinel; a `serving_default` signature names the inputs and outputs.
 */
import { Builder, type Offset } from 'flatbuffers';
import { InputError } from '../errors.ts';
import { formatSize } from '../report/size.ts';
import { BuiltinOperator, BuiltinOptions, TensorType } from './generated/schema.ts';
import type { TflField, TflModel, TflOperator, TflQuantization, TflTensor } from './model.ts';

const SCHEMA_VERSION = 3;

function int32Vector(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
  return b.endVector();
}

function float32Vector(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]!);
  return b.endVector();
}

function int64Vector(b: Builder, values: readonly number[]): Offset {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]!));
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly Offset[]): Offset {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}

function quantization(b: Builder, q: TflQuantization): Offset {
  const min = q.min ? float32Vector(b, q.min) : 0;
  const max = q.max ? float32Vector(b, q.max) : 0;
  const scale = float32Vector(b, q.scale);
  const zero = int64Vector(b, q.zeroPoint);
  b.startObject(7);
  if (min) b.addFieldOffset(0, min, 0);
  if (max) b.addFieldOffset(1, max, 0);
  b.addFieldOffset(2, scale, 0);
  b.addFieldOffset(3, zero, 0);
  b.addFieldInt32(6, q.axis ?? 0, 0);
  return b.endObject();
}

function tensor(b: Builder, t: TflTensor, buffer: number): Offset {
  const name = b.createString(t.name);
  const shape = int32Vector(b, t.shape);
  const signature = t.shapeSignature ? int32Vector(b, t.shapeSignature) : 0;
  const quant = t.quantization ? quantization(b, t.quantization) : 0;
  b.startObject(9);
  b.addFieldOffset(0, shape, 0);
  b.addFieldInt8(1, TensorType[t.type], -1);
  b.addFieldInt32(2, buffer, -1);
  b.addFieldOffset(3, name, 0);
  if (quant) b.addFieldOffset(4, quant, 0);
  if (signature) b.addFieldOffset(7, signature, 0);
  b.addFieldInt8(8, 1, 0); // has_rank
  return b.endObject();
}

function options(b: Builder, fields: readonly TflField[]): Offset {
  const vectors = new Map<number, Offset>();
  for (const f of fields) if (f.kind === 'int32s') vectors.set(f.slot, int32Vector(b, f.value));
  const slots = fields.reduce((m, f) => Math.max(m, f.slot + 1), 0);
  b.startObject(slots);
  for (const f of fields) {
    if (f.kind === 'int32s') b.addFieldOffset(f.slot, vectors.get(f.slot)!, 0);
    else if (f.kind === 'int32') b.addFieldInt32(f.slot, f.value as number, null);
    else if (f.kind === 'float32') b.addFieldFloat32(f.slot, f.value as number, null);
    else b.addFieldInt8(f.slot, Number(f.value), null);
  }
  return b.endObject();
}

function operator(b: Builder, op: TflOperator, opcodeIndex: number): Offset {
  const inputs = int32Vector(b, op.inputs);
  const outputs = int32Vector(b, op.outputs);
  const opts = op.options ? options(b, op.options.fields) : 0;
  b.startObject(13);
  b.addFieldInt32(0, opcodeIndex, -1);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  if (op.options) {
    b.addFieldInt8(3, BuiltinOptions[op.options.name], 0);
    b.addFieldOffset(4, opts, 0);
  }
  return b.endObject();
}

function operatorCode(b: Builder, op: TflOperator['op'], version: number): Offset {
  const code = BuiltinOperator[op];
  b.startObject(4);
  // Codes above 127 do not fit the old byte field: it holds the placeholder, builtin_code the code.
  b.addFieldInt8(0, Math.min(code, BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES), -1);
  b.addFieldInt32(2, version, -1);
  b.addFieldInt32(3, code, -1);
  return b.endObject();
}

function buffer(b: Builder, data: Uint8Array | undefined): Offset {
  let vec = 0;
  if (data && data.length > 0) {
    b.prep(16, data.length); // so the bytes start 16-aligned (createByteVector adds no padding after this)
    vec = b.createByteVector(data);
  }
  b.startObject(3);
  if (vec) b.addFieldOffset(0, vec, 0);
  return b.endObject();
}

function tensorMap(b: Builder, name: string, index: number): Offset {
  const n = b.createString(name);
  b.startObject(2);
  b.addFieldOffset(0, n, 0);
  b.addFieldInt32(1, index, -1);
  return b.endObject();
}

function signature(b: Builder, m: TflModel): Offset {
  const ins = offsetVector(b, m.inputs.map((i) => tensorMap(b, m.tensors[i]!.name, i)));
  const outs = offsetVector(b, m.outputs.map((i) => tensorMap(b, m.tensors[i]!.name, i)));
  const key = b.createString('serving_default');
  b.startObject(5);
  b.addFieldOffset(0, ins, 0);
  b.addFieldOffset(1, outs, 0);
  b.addFieldOffset(2, key, 0);
  b.addFieldInt32(4, 0, -1);
  return b.endObject();
}

/** A flatbuffer's offsets are 32-bit: a .tflite without offset buffers holds under 2 GiB. */
const FLATBUFFER_LIMIT = 2 ** 31 - 1;

/**
 * Bytes the file will take, over-estimated so the builder never grows: it doubles its buffer
 * when full, and doubling a 1 GiB model's buffer passes the 2 GiB limit (exit 3 before this).
 */
export function sizeEstimate(m: TflModel): number {
  let size = 1 << 20;
  for (const t of m.tensors) {
    const q = t.quantization;
    const params = q ? 12 * Math.max(q.scale.length, q.zeroPoint.length) + 4 * ((q.min?.length ?? 0) + (q.max?.length ?? 0)) : 0;
    size += (t.data?.length ?? 0) + 16 + 4 * t.name.length + 8 * (t.shape.length + (t.shapeSignature?.length ?? 0)) + params + 128;
  }
  return size + 256 * m.operators.length;
}

/** Serializes the model. Operator codes are in first-use order, one per builtin. */
export function writeTflite(m: TflModel): Uint8Array {
  const data = m.tensors.reduce((s, t) => s + (t.data?.length ?? 0), 0);
  if (data > FLATBUFFER_LIMIT) throw new InputError(`tflite: the weights take ${formatSize(data)}; a .tflite file holds under 2 GiB (flatbuffer offsets are 32-bit)`);
  const b = new Builder(Math.min(sizeEstimate(m), FLATBUFFER_LIMIT));
  // One operator code per builtin, at the highest version any of its uses needs (as TFLite's
  // own converter does: a kernel registered at version v runs every older signature too).
  const codes: { op: TflOperator['op']; version: number }[] = [];
  for (const op of m.operators) {
    const c = codes.find((x) => x.op === op.op);
    if (c) c.version = Math.max(c.version, op.version);
    else codes.push({ op: op.op, version: op.version });
  }
  const opIndices = m.operators.map((op) => codes.findIndex((c) => c.op === op.op));

  // Buffers: 0 is the empty sentinel, then one per constant tensor.
  const bufferOf: number[] = [];
  const buffers: Offset[] = [buffer(b, undefined)];
  for (const t of m.tensors) bufferOf.push(t.data ? buffers.push(buffer(b, t.data)) - 1 : 0);
  const buffersVec = offsetVector(b, buffers);

  const tensors = offsetVector(b, m.tensors.map((t, i) => tensor(b, t, bufferOf[i]!)));
  const operators = offsetVector(b, m.operators.map((op, i) => operator(b, op, opIndices[i]!)));
  const inputs = int32Vector(b, m.inputs);
  const outputs = int32Vector(b, m.outputs);
  const sgName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(0, tensors, 0);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  b.addFieldOffset(3, operators, 0);
  b.addFieldOffset(4, sgName, 0);
  const subgraph = b.endObject();

  const codesVec = offsetVector(b, codes.map((c) => operatorCode(b, c.op, c.version)));
  const subgraphs = offsetVector(b, [subgraph]);
  const description = b.createString(m.description);
  const signatures = offsetVector(b, [signature(b, m)]);
  b.startObject(8);
  b.addFieldInt32(0, SCHEMA_VERSION, -1);
  b.addFieldOffset(1, codesVec, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(3, description, 0);
  b.addFieldOffset(4, buffersVec, 0);
  b.addFieldOffset(7, signatures, 0);
  const root = b.endObject();
  b.finish(root, 'TFL3');
  // A view of the builder's buffer (its estimate's spare bytes before it): a copy would cost a
  // second buffer the size of the file.
  return b.asUint8Array();
}
