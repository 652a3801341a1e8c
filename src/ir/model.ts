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

  opset(domain = ''): number {
    const v = this.opsets.get(domain === 'ai.onnx' ? '' : domain);
    if (v === undefined) throw new Error(`model does not import the '${domain || 'ai.onnx'}' opset`);
    return v;
  }
}
