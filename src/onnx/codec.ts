/**
 * Schema-driven protobuf codec that loses nothing. Decoding records the order in which
 * fields appeared and keeps unknown fields as raw bytes in place (`$order`); encoding
 * replays that order, so a model that is only read and written comes back byte for byte,
 * whatever tool wrote it. Fields added by the tool go after, in field-number order.
 */
import type { Chunk } from './chunk.ts';
import type { FieldDesc, MessageDesc } from './schema.ts';
import { Encoder, Reader, WireError, WireType, type Int64 } from './wire.ts';

/**
 * One entry per run of a field: its number (negated when its packing differs from the
 * schema's default), or the raw bytes (tag included) of an unknown field.
 */
export type OrderEntry = number | Chunk;

export interface ProtoMessage {
  $order?: OrderEntry[];
  [field: string]: unknown;
}

const utf8 = new TextDecoder('utf-8');
const utf8Encode = new TextEncoder();

function isScalar(f: FieldDesc): boolean {
  return f.kind === 'varint' || f.kind === 'float' || f.kind === 'double';
}

function expectedWireType(f: FieldDesc): WireType {
  if (f.kind === 'varint') return WireType.Varint;
  if (f.kind === 'float') return WireType.Fixed32;
  if (f.kind === 'double') return WireType.Fixed64;
  return WireType.Len;
}

function elementWireType(f: FieldDesc): WireType {
  if (f.kind === 'data') {
    return f.element === 'fixed32' ? WireType.Fixed32 : f.element === 'fixed64' ? WireType.Fixed64 : WireType.Varint;
  }
  return expectedWireType(f);
}

function readScalar(r: Reader, f: FieldDesc): Int64 {
  if (f.kind === 'varint') return r.varint();
  if (f.kind === 'float') {
    const bytes = r.fixed32();
    return new DataView(bytes.buffer, bytes.byteOffset, 4).getFloat32(0, true);
  }
  const bytes = r.fixed64();
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
}

export function decodeMessage(r: Reader, desc: MessageDesc): ProtoMessage {
  const out: ProtoMessage = {};
  const order: OrderEntry[] = [];
  const data = new Map<string, Chunk[]>();
  let last: OrderEntry | undefined;
  while (!r.done()) {
    const start = r.pos;
    const key = r.uint();
    const no = Math.floor(key / 8);
    const wt = key & 7;
    if (no === 0) throw new WireError(`invalid field number 0 in ${desc.name} at byte ${start}`);
    const f = desc.byNo.get(no);
    const packedHere = f !== undefined && wt === WireType.Len && (isScalar(f) || f.kind === 'data');
    const fits =
      f !== undefined &&
      (wt === expectedWireType(f) || (packedHere && f.repeated === true) || (f.kind === 'data' && wt === elementWireType(f)));
    if (!f || !fits) {
      r.skip(wt);
      order.push(r.source.chunk(start, r.pos - start));
      last = undefined;
      continue;
    }
    const entry = (f.kind === 'data' ? wt === WireType.Len : packedHere) === Boolean(f.packed) ? no : -no;
    if (entry !== last) order.push(entry);
    last = entry;
    readField(r, f, wt, out, data);
  }
  // Joined once per message: joining per element made unpacked payloads quadratic.
  for (const [name, parts] of data) out[name] = parts.length === 1 ? parts[0] : concatChunks(parts);
  out.$order = order;
  return out;
}

function push(out: ProtoMessage, name: string, value: unknown): void {
  const list = (out[name] ??= []) as unknown[];
  list.push(value);
}

function readField(r: Reader, f: FieldDesc, wt: number, out: ProtoMessage, data: Map<string, Chunk[]>): void {
  switch (f.kind) {
    case 'varint':
    case 'float':
    case 'double': {
      if (wt === WireType.Len) {
        const n = r.length();
        const end = r.pos + n;
        const inner = new Reader(r.source, r.pos, end);
        while (!inner.done()) push(out, f.name, readScalar(inner, f));
        r.pos = end;
      } else if (f.repeated) push(out, f.name, readScalar(r, f));
      else out[f.name] = readScalar(r, f);
      return;
    }
    case 'string': {
      const n = r.length();
      const s = utf8.decode(r.source.bytes(r.pos, n));
      r.pos += n;
      if (f.repeated) push(out, f.name, s);
      else out[f.name] = s;
      return;
    }
    case 'bytes':
    case 'opaque': {
      const n = r.length();
      const c = r.source.chunk(r.pos, n);
      r.pos += n;
      if (f.repeated) push(out, f.name, c);
      else out[f.name] = c;
      return;
    }
    case 'data': {
      // Normally one packed run; other runs are joined so the payload stays one chunk.
      let payload: Chunk;
      if (wt === WireType.Len) {
        const n = r.length();
        payload = r.source.chunk(r.pos, n);
        r.pos += n;
      } else {
        // An unpacked element: its wire bytes are exactly one element of the packed form.
        const start = r.pos;
        r.skip(wt);
        payload = r.source.bytes(start, r.pos - start);
      }
      const parts = data.get(f.name);
      if (parts) parts.push(payload);
      else data.set(f.name, [payload]);
      return;
    }
    case 'message': {
      const n = r.length();
      const end = r.pos + n;
      const m = decodeMessage(new Reader(r.source, r.pos, end), f.message!());
      r.pos = end;
      if (f.repeated) push(out, f.name, m);
      // A singular message given twice is merged, as every protobuf parser (onnxruntime's
      // included) does: keeping only the last would read another model than the runtime runs.
      else out[f.name] = out[f.name] === undefined ? m : mergeMessages(out[f.name] as ProtoMessage, m, f.message!());
      return;
    }
  }
}

/** Protobuf merge: later scalars win, repeated fields concatenate, singular messages merge recursively. */
function mergeMessages(a: ProtoMessage, b: ProtoMessage, desc: MessageDesc): ProtoMessage {
  const out: ProtoMessage = { ...a, $order: [...(a.$order ?? []), ...(b.$order ?? [])] };
  for (const f of desc.fields) {
    const x = a[f.name];
    const y = b[f.name];
    if (y === undefined) continue;
    if (x === undefined) out[f.name] = y;
    else if (f.repeated && Array.isArray(x) && Array.isArray(y)) out[f.name] = [...x, ...y];
    else if (f.kind === 'message') out[f.name] = mergeMessages(x as ProtoMessage, y as ProtoMessage, f.message!());
    else if (f.kind === 'data') out[f.name] = concatChunks([x as Chunk, y as Chunk]);
    else out[f.name] = y;
  }
  return out;
}

function concatChunks(parts: Chunk[]): Uint8Array {
  let length = 0;
  for (const p of parts) {
    if (!(p instanceof Uint8Array)) throw new WireError('a split tensor payload larger than the lazy threshold is not supported');
    length += p.byteLength;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts as Uint8Array[]) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function encodeScalar(e: Encoder, f: FieldDesc, v: unknown): void {
  if (f.kind === 'float' || f.element === 'fixed32') {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, Number(v), true);
    e.raw(b);
  } else if (f.kind === 'double' || f.element === 'fixed64') {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, Number(v), true);
    e.raw(b);
  } else e.varint(v as Int64 | boolean);
}

export function encodeMessage(msg: ProtoMessage, desc: MessageDesc, e: Encoder = new Encoder()): Encoder {
  const done = new Set<number>();
  for (const entry of msg.$order ?? []) {
    if (typeof entry !== 'number') {
      e.chunk(entry);
      continue;
    }
    const no = Math.abs(entry);
    if (done.has(no)) continue;
    done.add(no);
    const f = desc.byNo.get(no);
    if (f) writeField(e, f, msg[f.name], entry < 0 ? !f.packed : Boolean(f.packed));
  }
  for (const f of desc.fields) {
    if (!done.has(f.no)) writeField(e, f, msg[f.name], Boolean(f.packed));
  }
  return e;
}

function writeLen(e: Encoder, no: number, payload: Chunk | Encoder): void {
  e.tag(no, WireType.Len);
  if (payload instanceof Encoder) {
    e.varint(payload.length);
    e.append(payload);
  } else {
    e.varint(payload instanceof Uint8Array ? payload.byteLength : payload.length);
    e.chunk(payload);
  }
}

function writeField(e: Encoder, f: FieldDesc, value: unknown, packed: boolean): void {
  if (value === undefined) return;
  const values = f.repeated ? (value as unknown[]) : [value];
  switch (f.kind) {
    case 'varint':
    case 'float':
    case 'double':
      if (f.repeated && packed) {
        if (values.length === 0) return;
        const inner = new Encoder();
        for (const v of values) encodeScalar(inner, f, v);
        writeLen(e, f.no, inner);
        return;
      }
      for (const v of values) {
        e.tag(f.no, expectedWireType(f));
        encodeScalar(e, f, v);
      }
      return;
    case 'string':
      for (const v of values) writeLen(e, f.no, utf8Encode.encode(v as string));
      return;
    case 'data':
      // Written unpacked by its writer (one tag per element): written back the same way.
      if (!packed && value instanceof Uint8Array) return writeElements(e, f, value);
      writeLen(e, f.no, value as Chunk);
      return;
    case 'bytes':
    case 'opaque':
      for (const v of values) writeLen(e, f.no, v as Chunk);
      return;
    case 'message':
      for (const v of values) writeLen(e, f.no, encodeMessage(v as ProtoMessage, f.message!()));
      return;
  }
}

/** A packed `data` payload written back as one tagged field per element. */
function writeElements(e: Encoder, f: FieldDesc, payload: Uint8Array): void {
  const wt = elementWireType(f);
  for (let at = 0; at < payload.byteLength; ) {
    let n = wt === WireType.Fixed32 ? 4 : wt === WireType.Fixed64 ? 8 : 1;
    if (wt === WireType.Varint) while (at + n <= payload.byteLength && (payload[at + n - 1]! & 0x80) !== 0) n++;
    e.tag(f.no, wt);
    e.raw(payload.subarray(at, at + n));
    at += n;
  }
}
