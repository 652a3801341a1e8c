/**
 * Reads a `.tflite` flatbuffer (first subgraph) back into a TflModel: tensors with their
 * shapes, types, quantization and constant bytes, operators with their codes and versions.
 * Used by `inspect` and by tests; options tables are not decoded.
 */
import { ByteBuffer } from 'flatbuffers';
import { InputError } from '../errors.ts';
import { BuiltinOperator, TensorType } from './generated/schema.ts';
import type { TflModel, TflOperator, TflQuantization, TflTensor, TflTensorType, TflOpName } from './model.ts';

const OP_NAMES = new Map<number, TflOpName>(Object.entries(BuiltinOperator).map(([k, v]) => [v, k as TflOpName]));
const TYPE_NAMES = new Map<number, TflTensorType>(Object.entries(TensorType).map(([k, v]) => [v, k as TflTensorType]));

class Table {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {}
  private off(slot: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * slot);
  }
  has(slot: number): boolean {
    return this.off(slot) !== 0;
  }
  int(slot: number, fallback = 0): number {
    const o = this.off(slot);
    return o ? this.bb.readInt32(this.pos + o) : fallback;
  }
  byte(slot: number, fallback = 0): number {
    const o = this.off(slot);
    return o ? this.bb.readInt8(this.pos + o) : fallback;
  }
  string(slot: number): string {
    const o = this.off(slot);
    return o ? (this.bb.__string(this.pos + o) as string) : '';
  }
  table(slot: number): Table | undefined {
    const o = this.off(slot);
    return o ? new Table(this.bb, this.bb.__indirect(this.pos + o)) : undefined;
  }
  private vec(slot: number): { start: number; length: number } | undefined {
    const o = this.off(slot);
    return o ? { start: this.bb.__vector(this.pos + o), length: this.bb.__vector_len(this.pos + o) } : undefined;
  }
  ints(slot: number): number[] {
    const v = this.vec(slot);
    return v ? Array.from({ length: v.length }, (_, i) => this.bb.readInt32(v.start + 4 * i)) : [];
  }
  floats(slot: number): number[] {
    const v = this.vec(slot);
    return v ? Array.from({ length: v.length }, (_, i) => this.bb.readFloat32(v.start + 4 * i)) : [];
  }
  longs(slot: number): number[] {
    const v = this.vec(slot);
    return v ? Array.from({ length: v.length }, (_, i) => Number(this.bb.readInt64(v.start + 8 * i))) : [];
  }
  bytes(slot: number): Uint8Array | undefined {
    const v = this.vec(slot);
    return v ? this.bb.bytes().subarray(v.start, v.start + v.length) : undefined;
  }
  tables(slot: number): Table[] {
    const v = this.vec(slot);
    return v ? Array.from({ length: v.length }, (_, i) => new Table(this.bb, this.bb.__indirect(v.start + 4 * i))) : [];
  }
}

/** True when the bytes carry the TFLite file identifier. */
export function isTflite(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'TFL3';
}

export function readTflite(bytes: Uint8Array, label = 'model'): TflModel & { version: number } {
  if (!isTflite(bytes)) throw new InputError(`${label} is not a .tflite file (no TFL3 identifier)`);
  const bb = new ByteBuffer(bytes);
  const root = new Table(bb, bb.readInt32(bb.position()) + bb.position());
  const buffers = root.tables(4).map((b) => b.bytes(0));
  const codes = root.tables(1).map((c) => ({ code: Math.max(c.byte(0), c.int(3)), version: c.int(2, 1) }));
  const sg = root.tables(2)[0];
  if (!sg) throw new InputError(`${label} has no subgraph`);
  const tensors: TflTensor[] = sg.tables(0).map((t) => {
    const q = t.table(4);
    const data = buffers[t.int(2)];
    let quantization: TflQuantization | undefined;
    if (q && q.floats(2).length) quantization = { scale: q.floats(2), zeroPoint: q.longs(3), axis: q.int(6) };
    return {
      name: t.string(3),
      shape: t.ints(0),
      type: TYPE_NAMES.get(t.byte(1)) ?? 'FLOAT32',
      ...(data && data.length ? { data } : {}),
      ...(quantization ? { quantization } : {}),
    };
  });
  const operators: TflOperator[] = sg.tables(3).map((o) => {
    const c = codes[o.int(0)]!;
    return { op: OP_NAMES.get(c.code) ?? ('CUSTOM' as TflOpName), version: c.version, inputs: o.ints(1), outputs: o.ints(2) };
  });
  return { version: root.int(0), description: root.string(3), tensors, inputs: sg.ints(1), outputs: sg.ints(2), operators };
}
