/**
 * Builds graphs in code: used by the fixture scripts, by tests (tiny graphs inline) and by
 * passes that create nodes. Names are checked for uniqueness as they are added.
 */
import type { DType, TypedArray } from '../onnx/dtype.ts';
import { Graph } from './graph.ts';
import { Model } from './model.ts';
import { Node, type AttrInput } from './node.ts';
import { Tensor } from './tensor.ts';
import { ValueInfo, type Dim } from './value.ts';

export { float } from './node.ts';

export interface BuilderOptions {
  /** Opset version per domain; default `{ '': 17 }`. */
  opsets?: Record<string, number>;
  irVersion?: number;
  producerName?: string;
}

export class GraphBuilder {
  readonly graph: Graph;
  private readonly opts: BuilderOptions;
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(name: string, opts: BuilderOptions = {}) {
    this.graph = new Graph(name);
    this.opts = opts;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`name '${name}' is already used in graph '${this.graph.name}'`);
    this.names.add(name);
    return name;
  }

  /** A fresh value name with the given prefix. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    this.graph.inputs.push(new ValueInfo(this.claim(name), { dtype, shape }));
    return name;
  }

  output(name: string, dtype: DType, shape: Dim[]): string {
    this.graph.outputs.push(new ValueInfo(name, { dtype, shape }));
    return name;
  }

  initializer(name: string, data: TypedArray, dims: readonly number[]): string {
    this.graph.addInitializer(Tensor.fromTyped(this.claim(name), data, dims));
    return name;
  }

  /**
   * Adds a node and returns its output names. `outputs` is a count (names generated from
   * the node name) or explicit names.
   */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrInput> = {},
    opts: { name?: string; outputs?: number | string[]; domain?: string } = {},
  ): string[] {
    const name = opts.name ?? this.fresh(opType.toLowerCase());
    if (opts.name) this.claim(name);
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs.map((o) => this.claim(o))
      : Array.from({ length: opts.outputs ?? 1 }, (_, i) => this.claim(i === 0 ? `${name}_out` : `${name}_out${i}`));
    const node = new Node(opType, inputs, outs, name, opts.domain ?? '');
    for (const [k, v] of Object.entries(attrs)) node.setAttr(k, v);
    this.graph.nodes.push(node);
    return outs;
  }

  build(): Model {
    const model = new Model(this.graph, new Map(Object.entries(this.opts.opsets ?? { '': 17 })), this.opts.irVersion ?? 8);
    model.proto.producer_name = this.opts.producerName ?? 'shrinkray';
    return model;
  }
}
