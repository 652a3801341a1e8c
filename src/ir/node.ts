/** A node and its attributes. Subgraph attributes hold IR graphs, so passes can recurse. */
import type { ProtoMessage } from '../onnx/codec.ts';
import type { Int64 } from '../onnx/wire.ts';
import type { Graph } from './graph.ts';
import { Tensor } from './tensor.ts';

export type AttrType =
  | 'float'
  | 'int'
  | 'string'
  | 'tensor'
  | 'graph'
  | 'floats'
  | 'ints'
  | 'strings'
  | 'tensors'
  | 'graphs'
  | 'sparse_tensor'
  | 'sparse_tensors'
  | 'type_proto'
  | 'type_protos';

export interface Attribute {
  name: string;
  type: AttrType;
  /** number, Int64, string (Uint8Array if not UTF-8), Tensor, Graph, arrays of those, or a raw proto. */
  value: unknown;
  /** Remaining AttributeProto fields (doc_string, ref_attr_name, unknown fields, order). */
  proto: ProtoMessage;
}

/** Forces FLOAT for an integral number in `setAttr` / the builder. */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export const float = (value: number): FloatAttr => new FloatAttr(value);

export type AttrInput = number | bigint | string | number[] | string[] | FloatAttr | Tensor | Graph | Tensor[] | Graph[];

export class Node {
  constructor(
    public opType: string,
    public inputs: string[],
    public outputs: string[],
    public name = '',
    public domain = '',
    public attributes: Attribute[] = [],
    /** Remaining NodeProto fields (doc_string, overload, metadata, unknown fields, order). */
    public proto: ProtoMessage = {},
  ) {}

  attr(name: string): Attribute | undefined {
    return this.attributes.find((a) => a.name === name);
  }

  getInt(name: string, fallback: number): number;
  getInt(name: string): number | undefined;
  getInt(name: string, fallback?: number): number | undefined {
    const v = this.attr(name)?.value;
    return v === undefined ? fallback : Number(v);
  }

  getInts(name: string): number[] | undefined {
    const v = this.attr(name)?.value as Int64[] | undefined;
    return v?.map((x) => (typeof x === 'bigint' ? clampInt64(x) : x));
  }

  getFloat(name: string, fallback: number): number {
    const v = this.attr(name)?.value;
    return v === undefined ? fallback : Number(v);
  }

  getString(name: string, fallback = ''): string {
    const v = this.attr(name)?.value;
    return typeof v === 'string' ? v : fallback;
  }

  getTensor(name: string): Tensor | undefined {
    const v = this.attr(name)?.value;
    return v instanceof Tensor ? v : undefined;
  }

  setAttr(name: string, input: AttrInput): void {
    const { type, value } = attrFromInput(input);
    const existing = this.attr(name);
    if (existing) Object.assign(existing, { type, value });
    else this.attributes.push({ name, type, value, proto: {} });
  }

  removeAttr(name: string): void {
    this.attributes = this.attributes.filter((a) => a.name !== name);
  }

  /** Graphs held by If/Loop/Scan (and any other graph-valued attribute). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attributes) {
      if (a.type === 'graph') out.push(a.value as Graph);
      if (a.type === 'graphs') out.push(...(a.value as Graph[]));
    }
    return out;
  }

  /** A deep copy: attributes, tensors and subgraphs are copies (tensor payloads shared until replaced). */
  clone(): Node {
    return new Node(this.opType, [...this.inputs], [...this.outputs], this.name, this.domain, this.attributes.map(cloneAttribute), this.proto);
  }

  /** A label for messages: the node's name, or its op type and first output. */
  get label(): string {
    return this.name ? `'${this.name}' (${this.opType})` : `${this.opType} -> '${this.outputs[0] ?? ''}'`;
  }
}

function cloneValue(v: unknown): unknown {
  if (v instanceof Tensor) return v.clone();
  if (v instanceof Array) return v.map(cloneValue);
  // A Graph (imported as a type only, to keep the module graph acyclic) is the one other object with clone().
  if (v && typeof v === 'object' && 'clone' in v && typeof v.clone === 'function') return (v as Graph).clone();
  return v;
}

function cloneAttribute(a: Attribute): Attribute {
  return { ...a, value: cloneValue(a.value) };
}

/** Int64 attributes such as INT64_MAX (Slice ends) become the nearest safe number. */
function clampInt64(x: bigint): number {
  if (x > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (x < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(x);
}

function attrFromInput(input: AttrInput): { type: AttrType; value: unknown } {
  if (input instanceof FloatAttr) return { type: 'float', value: input.value };
  if (typeof input === 'bigint') return { type: 'int', value: input };
  if (typeof input === 'number') return Number.isInteger(input) ? { type: 'int', value: input } : { type: 'float', value: input };
  if (typeof input === 'string') return { type: 'string', value: input };
  if (input instanceof Tensor) return { type: 'tensor', value: input };
  if (Array.isArray(input)) {
    if (input.length > 0 && input.every((x) => typeof x === 'string')) return { type: 'strings', value: input };
    if (input.length > 0 && input.every((x) => x instanceof Tensor)) return { type: 'tensors', value: input };
    if (input.length > 0 && input.every((x) => typeof x === 'object')) return { type: 'graphs', value: input };
    const nums = input as number[];
    return nums.every(Number.isInteger) ? { type: 'ints', value: nums } : { type: 'floats', value: nums };
  }
  return { type: 'graph', value: input };
}

/** A node as messages and reports name it: its name, else its label. */
export function nodeName(n: Node): string {
  return n.name || n.label;
}
