/**
 * A protobuf message as an editable tree of fields, for structural mutation: sub-messages
 * the ONNX schema (src/onnx/schema.ts) declares are parsed recursively, every other field is
 * kept as its value or raw bytes. Encoding recomputes every length, so a mutation deep in a
 * graph (a dims value, a node input, a data type) still gives well-formed protobuf — the
 * mutated model reaches validation instead of stopping at the parser.
 */
import type { MessageDesc } from '../../src/onnx/schema.ts';
import { concat } from '../helpers/proto.ts';

export interface Field {
  no: number;
  /** Wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  wt: number;
  /** Path of field names from the model down to this field, e.g. graph.node.input. */
  path: string;
  /** Varint value; or payload bytes (LEN, fixed); or sub-message fields. */
  value: bigint | Uint8Array | Field[];
  /** How the payload reads when it is a `string` field of the schema. */
  kind?: string;
}

class Cursor {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  varint(): bigint {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.b.length) throw new Error('eof');
      const x = this.b[this.pos++]!;
      v |= BigInt(x & 0x7f) << shift;
      if ((x & 0x80) === 0) return BigInt.asUintN(64, v);
    }
    throw new Error('bad varint');
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw new Error('eof');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Parses `bytes` as message `desc`; throws on malformed input (seeds are valid models). */
export function parseTree(bytes: Uint8Array, desc: MessageDesc, path = ''): Field[] {
  const c = new Cursor(bytes);
  const out: Field[] = [];
  while (c.pos < bytes.length) {
    const key = c.varint();
    const no = Number(key >> 3n);
    const wt = Number(key & 7n);
    const f = desc.byNo.get(no);
    const p = path ? `${path}.${f?.name ?? no}` : (f?.name ?? String(no));
    if (wt === 0) out.push({ no, wt, path: p, value: c.varint(), kind: f?.kind });
    else if (wt === 1) out.push({ no, wt, path: p, value: c.take(8), kind: f?.kind });
    else if (wt === 5) out.push({ no, wt, path: p, value: c.take(4), kind: f?.kind });
    else if (wt === 2) {
      const payload = c.take(Number(c.varint()));
      const sub = f?.kind === 'message' ? f.message!() : undefined;
      out.push({ no, wt, path: p, value: sub ? parseTree(payload, sub, p) : payload, kind: f?.kind });
    } else throw new Error(`wire type ${wt}`);
  }
  return out;
}

function varintBytes(v: bigint): number[] {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (x > 0x7fn) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

export function encodeTree(fields: readonly Field[]): Uint8Array {
  const parts: number[] = [];
  const chunks: Uint8Array[] = [];
  const flush = () => {
    if (parts.length) chunks.push(Uint8Array.from(parts.splice(0)));
  };
  for (const f of fields) {
    parts.push(...varintBytes(BigInt(f.no * 8 + f.wt)));
    if (f.wt === 0) parts.push(...varintBytes(f.value as bigint));
    else if (f.wt === 2) {
      const payload = Array.isArray(f.value) ? encodeTree(f.value) : (f.value as Uint8Array);
      parts.push(...varintBytes(BigInt(payload.length)));
      flush();
      chunks.push(payload);
    } else {
      flush();
      chunks.push(f.value as Uint8Array);
    }
  }
  flush();
  return concat(...chunks);
}

/** Every field of the tree with the list that holds it (depth first). */
export function allFields(fields: Field[], into: Array<{ field: Field; siblings: Field[] }> = []) {
  for (const f of fields) {
    into.push({ field: f, siblings: fields });
    if (Array.isArray(f.value)) allFields(f.value, into);
  }
  return into;
}

export function cloneTree(fields: readonly Field[]): Field[] {
  return fields.map((f) => ({ ...f, value: Array.isArray(f.value) ? cloneTree(f.value) : f.value }));
}
