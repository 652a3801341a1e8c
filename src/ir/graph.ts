/**
 * A graph: nodes in order, inputs/outputs, value_info, initializers by name. Values are
 * identified by name, as in ONNX. Producer/consumer maps are derived on request (never
 * stored), so a pass can edit `nodes` freely and ask again.
 */
import type { ProtoMessage } from '../onnx/codec.ts';
import type { Node } from './node.ts';
import type { Tensor } from './tensor.ts';
import type { ValueInfo } from './value.ts';

export interface GraphIndex {
  producer: Map<string, Node>;
  /** Every node reading a value, including nodes whose subgraphs read it from outer scope. */
  consumers: Map<string, Node[]>;
}

export class Graph {
  nodes: Node[] = [];
  inputs: ValueInfo[] = [];
  outputs: ValueInfo[] = [];
  valueInfo: ValueInfo[] = [];
  readonly initializers = new Map<string, Tensor>();
  /** SparseTensorProto messages, kept as loaded. */
  sparseInitializers: ProtoMessage[] = [];
  /** Remaining GraphProto fields (doc_string, metadata, annotations, unknown fields, order). */
  proto: ProtoMessage = {};

  constructor(public name = '') {}

  /** A deep copy whose tensors share payloads with this graph's until either side replaces them. */
  clone(): Graph {
    const g = new Graph(this.name);
    g.nodes = this.nodes.map((n) => n.clone());
    g.inputs = this.inputs.map((v) => v.clone());
    g.outputs = this.outputs.map((v) => v.clone());
    g.valueInfo = this.valueInfo.map((v) => v.clone());
    for (const [k, t] of this.initializers) g.initializers.set(k, t.clone());
    g.sparseInitializers = [...this.sparseInitializers];
    g.proto = this.proto;
    return g;
  }

  addInitializer(t: Tensor): Tensor {
    this.initializers.set(t.name, t);
    return t;
  }

  index(): GraphIndex {
    const producer = new Map<string, Node>();
    const consumers = new Map<string, Node[]>();
    const use = (name: string, node: Node) => {
      if (!name) return;
      const list = consumers.get(name);
      if (list) {
        if (list[list.length - 1] !== node) list.push(node);
      } else consumers.set(name, [node]);
    };
    for (const node of this.nodes) {
      for (const o of node.outputs) if (o) producer.set(o, node);
      for (const i of node.inputs) use(i, node);
      for (const g of node.subgraphs()) for (const name of g.outerReferences()) use(name, node);
    }
    return { producer, consumers };
  }

  /** Names a graph (and its own subgraphs) reads but does not define: its outer-scope inputs. */
  outerReferences(): Set<string> {
    const defined = new Set<string>([...this.inputs.map((v) => v.name), ...this.initializers.keys()]);
    for (const s of this.sparseInitializers) defined.add(sparseName(s));
    for (const n of this.nodes) for (const o of n.outputs) defined.add(o);
    const refs = new Set<string>();
    for (const n of this.nodes) {
      for (const i of n.inputs) if (i && !defined.has(i)) refs.add(i);
      for (const g of n.subgraphs()) for (const r of g.outerReferences()) if (!defined.has(r)) refs.add(r);
    }
    for (const o of this.outputs) if (!defined.has(o.name)) refs.add(o.name);
    return refs;
  }

  isGraphOutput(name: string): boolean {
    return this.outputs.some((o) => o.name === name);
  }

  /** Rewrites every read of `from` (in this graph and in subgraphs that see it) to `to`. */
  replaceUses(from: string, to: string): void {
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
      for (const g of n.subgraphs()) if (!g.defines(from)) g.replaceUses(from, to);
    }
  }

  /** Whether this graph itself defines a value (shadowing an outer one). */
  defines(name: string): boolean {
    return (
      this.initializers.has(name) ||
      this.inputs.some((v) => v.name === name) ||
      this.nodes.some((n) => n.outputs.includes(name))
    );
  }

  /** Every name in use here or below, for generating fresh names. */
  allNames(into = new Set<string>()): Set<string> {
    for (const v of [...this.inputs, ...this.outputs, ...this.valueInfo]) into.add(v.name);
    for (const k of this.initializers.keys()) into.add(k);
    for (const n of this.nodes) {
      if (n.name) into.add(n.name);
      for (const x of [...n.inputs, ...n.outputs]) into.add(x);
      for (const g of n.subgraphs()) g.allNames(into);
    }
    return into;
  }

  /** This graph, then every subgraph below it, depth first. */
  *walk(): Generator<Graph> {
    yield this;
    for (const n of this.nodes) for (const g of n.subgraphs()) yield* g.walk();
  }

  /**
   * Kahn's algorithm over the values produced in this graph: the nodes in an order where every
   * value is produced before it is read (stable for graphs already in order), and the nodes it
   * could not place — on or after a cycle — with the inputs they still miss.
   */
  topologicalOrder(): { order: Node[]; stuck: Map<Node, Set<string>> } {
    const available = new Set<string>(['', ...this.inputs.map((v) => v.name), ...this.initializers.keys()]);
    for (const s of this.sparseInitializers) available.add(sparseName(s));
    const producedHere = new Set(this.nodes.flatMap((n) => n.outputs));
    const needs = (n: Node) => [...n.inputs, ...n.subgraphs().flatMap((g) => [...g.outerReferences()])].filter((i) => producedHere.has(i));
    const pending = new Map(this.nodes.map((n) => [n, new Set(needs(n).filter((i) => !available.has(i)))]));
    const readers = new Map<string, Node[]>();
    for (const [n, missing] of pending) for (const i of missing) (readers.get(i) ?? readers.set(i, []).get(i)!).push(n);
    const ready = this.nodes.filter((n) => pending.get(n)!.size === 0);
    const order: Node[] = [];
    const position = new Map(this.nodes.map((n, i) => [n, i]));
    while (ready.length > 0) {
      // Keep the original order among ready nodes, so sorting a sorted graph changes nothing.
      ready.sort((a, b) => position.get(a)! - position.get(b)!);
      const n = ready.shift()!;
      order.push(n);
      pending.delete(n);
      for (const o of n.outputs) {
        for (const r of readers.get(o) ?? []) {
          const missing = pending.get(r)!;
          if (missing.delete(o) && missing.size === 0) ready.push(r);
        }
        readers.delete(o);
      }
    }
    return { order, stuck: pending };
  }

  /** Orders nodes so that every value is produced before it is read. Throws on a cycle, naming a node on it or after it. */
  sortTopologically(): void {
    const { order, stuck } = this.topologicalOrder();
    if (stuck.size > 0) throw new Error(`graph '${this.name}' has a cycle through node ${[...stuck.keys()][0]!.label}`);
    this.nodes = order;
  }
}

function sparseName(s: ProtoMessage): string {
  return ((s.values as ProtoMessage | undefined)?.name as string | undefined) ?? '';
}
