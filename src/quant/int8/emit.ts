/**
 * Building a quantized copy of a model: nodes and initializers are collected here, never
 * written into the source model, so fallback can build many variants from one float graph
 * and the source stays intact until the final one is committed.
 */
import { Graph } from '../../ir/graph.ts';
import { Model } from '../../ir/model.ts';
import { FreshNames } from '../../ir/names.ts';
import { Node, type AttrInput } from '../../ir/node.ts';
import { Tensor } from '../../ir/tensor.ts';
import type { TypedArray } from '../../onnx/dtype.ts';

export const MS_DOMAIN = 'com.microsoft';

export function cloneNode(n: Node): Node {
  return new Node(n.opType, [...n.inputs], [...n.outputs], n.name, n.domain, n.attributes.map((a) => ({ ...a })), n.proto);
}

export class GraphEmitter {
  readonly nodes: Node[] = [];
  readonly initializers: Map<string, Tensor>;
  /** Source initializers and Constant outputs replaced by quantized versions (dropped when unused). */
  readonly replaced = new Set<string>();
  readonly domains = new Set<string>();
  /** Initializers this emitter created (dropped if nothing reads them). */
  private readonly created = new Set<string>();
  private readonly names: FreshNames;
  private readonly cache = new Map<string, string>();

  /** `scope`: the graph whose names new ones must not clash with (the main graph, when `source` is a body). */
  constructor(
    readonly source: Model,
    scope: Graph = source.graph,
  ) {
    this.names = new FreshNames(scope);
    this.initializers = new Map(source.graph.initializers);
  }

  private shortCount = 0;

  /**
   * A short generated name (`q1c`, `s1d` …, base 36) for tensors the quantizer adds. Names are stored at
   * every reference, and on a small model long derived names (`block1.attn.q_proj.weight_scale`)
   * cost more bytes than the int8 weights save. Quantized activations keep their own names.
   */
  short(kind: string): string {
    return this.fresh(`${kind}${(this.shortCount++).toString(36)}`);
  }

  fresh(base: string): string {
    return this.names.fresh(base);
  }

  /** A new initializer named `short(kind)`; `key` makes identical requests share one tensor. */
  constant(kind: string, data: TypedArray, dims: readonly number[], key?: string): string {
    const hit = key === undefined ? undefined : this.cache.get(key);
    if (hit) return hit;
    const name = this.short(kind);
    this.initializers.set(name, Tensor.fromTyped(name, data, dims));
    this.created.add(name);
    if (key !== undefined) this.cache.set(key, name);
    return name;
  }

  /** Memoized value: `make` runs once per key. */
  once(key: string, make: () => string): string {
    const hit = this.cache.get(key);
    if (hit) return hit;
    const v = make();
    this.cache.set(key, v);
    return v;
  }

  /** Adds a node; helper nodes (Q/DQ, scale arithmetic) stay unnamed, as ONNX allows: names cost bytes. */
  node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrInput> = {}, opts: { domain?: string; name?: string } = {}): Node {
    const n = new Node(opType, inputs, outputs, opts.name ?? '', opts.domain ?? '');
    for (const [k, v] of Object.entries(attrs)) n.setAttr(k, v);
    if (n.domain) this.domains.add(n.domain);
    this.nodes.push(n);
    return n;
  }

  push(n: Node): Node {
    if (n.domain && n.domain !== 'ai.onnx') this.domains.add(n.domain);
    this.nodes.push(n);
    return n;
  }

  /** The quantized model: the source's inputs, outputs and metadata around the new nodes. */
  build(): Model {
    const src = this.source.graph;
    const g = new Graph(src.name);
    g.inputs = [...src.inputs];
    g.outputs = [...src.outputs];
    g.sparseInitializers = src.sparseInitializers;
    g.proto = src.proto;
    const used = new Set<string>(g.outputs.map((o) => o.name));
    for (const n of this.nodes) {
      for (const i of n.inputs) used.add(i);
      for (const s of n.subgraphs()) for (const r of s.outerReferences()) used.add(r);
    }
    // Constant nodes whose value was replaced and is no longer read go away with it.
    g.nodes = this.nodes.filter((n) => !(n.opType === 'Constant' && this.replaced.has(n.outputs[0]!) && !used.has(n.outputs[0]!)));
    const inputs = new Set(g.inputs.map((v) => v.name));
    for (const [name, t] of this.initializers) {
      if ((this.replaced.has(name) || this.created.has(name)) && !used.has(name) && !inputs.has(name)) continue;
      g.initializers.set(name, t);
    }
    const defined = new Set<string>([...inputs, ...g.initializers.keys(), ...g.nodes.flatMap((n) => n.outputs)]);
    g.valueInfo = src.valueInfo.filter((v) => defined.has(v.name));
    const opsets = new Map(this.source.opsets);
    for (const d of this.domains) if (!opsets.has(d)) opsets.set(d, 1);
    const m = new Model(g, opsets, this.source.irVersion);
    m.proto = this.source.proto;
    return m;
  }
}

/** Replaces a model's contents with another's (the committed quantized graph). */
export function commitModel(target: Model, built: Model): void {
  const g = target.graph;
  g.nodes = built.graph.nodes;
  g.valueInfo = built.graph.valueInfo;
  g.initializers.clear();
  for (const [k, t] of built.graph.initializers) g.initializers.set(k, t);
  target.opsets = built.opsets;
}
