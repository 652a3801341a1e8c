/** A model: opset imports, the main graph, and every other ModelProto field kept as loaded. */
import type { ProtoMessage } from '../onnx/codec.ts';
import type { Int64 } from '../onnx/wire.ts';
import { Graph } from './graph.ts';

export class Model {
  /** Remaining ModelProto fields (producer, metadata, functions, training info, unknown fields, order). */
  proto: ProtoMessage = {};
  /** Files the model was read from (the .onnx and its external data), which saving must never overwrite. */
  readonly sources = new Set<string>();

  constructor(
    public graph: Graph = new Graph(),
    /** Opset version per domain; '' is the default ONNX domain. */
    public opsets = new Map<string, number>([['', 17]]),
    public irVersion: Int64 = 8,
  ) {}

  /** A copy passes can edit freely: the graph is deep-copied, tensor payloads shared until written. */
  clone(): Model {
    const m = new Model(this.graph.clone(), new Map(this.opsets), this.irVersion);
    m.proto = this.proto;
    for (const s of this.sources) m.sources.add(s);
    return m;
  }

  /** Adopts `other`'s contents (a clone that a pass finished editing), keeping this object's identity for the caller. */
  adopt(other: Model): void {
    this.graph = other.graph;
    this.opsets = other.opsets;
    this.irVersion = other.irVersion;
    this.proto = other.proto;
  }

  opset(domain = ''): number {
    const v = this.opsets.get(domain === 'ai.onnx' ? '' : domain);
    if (v === undefined) throw new Error(`model does not import the '${domain || 'ai.onnx'}' opset`);
    return v;
  }
}
