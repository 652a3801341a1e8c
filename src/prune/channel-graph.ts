/**
 * Channel dependencies for structured pruning. Every Conv/Gemm/MatMul (an op with a `layer`
 * layout in the op table) with a constant weight opens a "space": its output channels, each
 * with a global id. Channel maps follow those ids forward through the graph, each op by its
 * `channels` rule in the table (activations, BatchNormalization, pools, Flatten and Reshape
 * blocks, Transpose, Concat offsets …), to the layers that read them as input channels.
 * Channels that must go together are joined (union-find): the two sides of a residual
 * Add/Mul, a grouped Conv's input and output channels of one group. Channels that cannot be
 * removed — they reach a graph output, a Softmax over channels, an op not known to keep
 * channels apart (no rule) — are frozen. Where the channel layout becomes ambiguous (a
 * Reshape that splits the channel axis, a shape computed at run time) the analysis refuses
 * with the node's name, or freezes those channels when asked to skip.
 *
 * The result lists every initializer slice and attribute fix the rewrite needs; nothing is
 * changed here.
 */
import { InputError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { Dim } from '../ir/value.ts';
import { constantValues, inferShapesAndValues, type TypeMap, type ValueMap } from '../ops/infer.ts';
import { opSpec } from '../ops/registry.ts';
import type { ChannelMap } from './axis-map.ts';
import { followSingleInput, type ChannelFlowContext } from './channel-flow.ts';
import { initializerReaders, LAYER_OP_TYPES, prunableLayers, type PrunableLayer } from './layers.ts';
import { spelledOutLayerNorms, type SpelledLayerNorm } from './layer-norm.ts';
import type { OnUnsupported } from './types.ts';
import { find, spaceOf, type ChannelGraph, type InitSlice, type ReshapeFix, type Space } from './channel-types.ts';

/** The channel graph of `graph` (the main graph, or a body seeing the types of the graphs around it). */
export function analyzeChannels(
  model: Model,
  mode: OnUnsupported,
  graph: Graph = model.graph,
  outer: TypeMap = new Map(),
  outerConsts: ReadonlyMap<string, Tensor> = new Map(),
): ChannelGraph {
  const analysis = new ChannelAnalysis(model, mode, graph, outer, outerConsts);
  for (const node of graph.nodes) analysis.visit(node);
  return analysis.finish();
}

/**
 * A channel graph for every graph of the model, the main graph first, then the bodies of
 * If/Loop/Scan in `Graph.walk` order: each body is pruned like a graph of its own — its
 * outputs keep their channels, values from the graph around it carry none.
 */
export function analyzeEveryGraph(model: Model, mode: OnUnsupported): ChannelGraph[] {
  const out: ChannelGraph[] = [];
  const visit = (g: Graph, outer: TypeMap, outerConsts: ReadonlyMap<string, Tensor>) => {
    out.push(analyzeChannels(model, mode, g, outer, outerConsts));
    const bodies = g.nodes.flatMap((n) => n.subgraphs());
    const types = bodies.length ? inferShapesAndValues(model, g, outer).types : outer;
    const consts = visibleConstants(g, outerConsts);
    for (const body of bodies) visit(body, types, consts);
  };
  visit(model.graph, new Map(), new Map());
  return out;
}

/** The constants a graph sees: its own, and those of the graphs around it that it does not shadow. */
function visibleConstants(g: Graph, outer: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const out = new Map([...outer, ...constantValues(g)]);
  for (const v of g.inputs) out.delete(v.name);
  return out;
}

/**
 * The analysis in steps: `visit` each node in graph order (a layer opens a space, other ops
 * carry the maps that reach them by their channel rule), then `finish` (graph outputs keep
 * their channels, notes are gathered).
 */
class ChannelAnalysis implements ChannelFlowContext {
  readonly opset: number;
  private readonly g: Graph;
  private readonly types: TypeMap;
  private readonly values: ValueMap;
  private readonly consts: Map<string, Tensor>;
  private readonly readers: Map<string, Node[]>;
  private readonly layers: Map<Node, PrunableLayer>;
  private readonly norms: Map<Node, SpelledLayerNorm>;
  private readonly cg: ChannelGraph;
  private readonly maps = new Map<string, ChannelMap>();
  /** Notes of stopped channels, by the layers they belong to. */
  private readonly stopped = new Map<string, string[]>();

  constructor(
    model: Model,
    private readonly mode: OnUnsupported,
    graph: Graph,
    outer: TypeMap,
    outerConsts: ReadonlyMap<string, Tensor>,
  ) {
    this.g = graph;
    ({ types: this.types, values: this.values } = inferShapesAndValues(model, graph, outer));
    this.consts = visibleConstants(graph, outerConsts);
    this.readers = initializerReaders(this.g);
    this.opset = model.opsets.get('') ?? 0;
    const own = new Set(graph.nodes);
    this.layers = new Map(prunableLayers(model, LAYER_OP_TYPES, 'all').flatMap((l) => (own.has(l.node) ? [[l.node, l] as const] : [])));
    this.norms = spelledOutLayerNorms(this.g, (n, attr, i) => this.ints(n, attr, i), (v) => this.isConst(v) && this.consts.get(v)!.size === 1);
    this.cg = { graph: this.g, spaces: [], parent: [], frozen: new Map(), slices: [], reshapes: [], statistics: [], groups: [], mapped: new Set(), notes: [] };
  }

  visit(node: Node): void {
    const ins = node.inputs.map((v) => (v ? this.maps.get(v) : undefined));
    const inner = node.subgraphs().flatMap((s) => [...s.outerReferences()]).map((v) => this.maps.get(v)).filter((m): m is ChannelMap => !!m);
    if (inner.length) this.stop(node, inner, 'read inside a subgraph');
    const l = this.layers.get(node);
    if (l) {
      this.stop(node, ins.slice(1).filter((m): m is ChannelMap => !!m), 'channels feed a weight input');
      if (l.group > 1) this.groupedLayer(node, l, ins[0]);
      else this.layer(node, l, ins[0]);
      return;
    }
    const live = ins.filter((m): m is ChannelMap => !!m);
    const rule = opSpec(node)?.channels;
    if (!live.length || rule === 'shape-only') return;
    if (node.domain !== '' && node.domain !== 'ai.onnx') return this.stop(node, live, `${node.domain} ops are not known to keep channels apart`);
    if (rule === 'broadcast') this.broadcast(node, ins);
    else if (rule === 'concat') this.concat(node, ins);
    else if (ins.slice(1).some(Boolean)) this.stop(node, live, 'channels feed a parameter input');
    else if (!this.normStatistic(node, ins[0]!)) followSingleInput(this, node, ins[0]!, rule);
  }

  finish(): ChannelGraph {
    for (const o of this.g.outputs) {
      const m = this.maps.get(o.name);
      if (m) this.stop(undefined, [m], `graph output '${o.name}'`);
    }
    for (const [names, whys] of this.stopped) this.cg.notes.push(`channels of ${names} kept: ${whys.slice(0, 3).join('; ')}${whys.length > 3 ? ` (+${whys.length - 3} more)` : ''}`);
    return this.cg;
  }

  // --- ChannelFlowContext: what the flow steps read and record ---

  shape(v: string): Dim[] | undefined {
    return this.types.get(v)?.shape;
  }

  /** Constant, or computed from known sizes (Slice bounds from Shape → Gather, say). */
  ints(node: Node, attr: string, input: number): number[] | undefined {
    const a = node.getInts(attr);
    if (a) return a;
    const t = node.inputs[input] ? this.consts.get(node.inputs[input]!) : undefined;
    if (t) return Array.from(t.typed() as ArrayLike<number | bigint>, Number);
    const v = node.inputs[input] ? this.values.get(node.inputs[input]!) : undefined;
    return v?.every((d): d is number => typeof d === 'number') ? v : undefined;
  }

  isConst(v: string): boolean {
    return this.consts.has(v) && !this.g.inputs.some((i) => i.name === v);
  }

  shapeValue(v: string): Dim[] | undefined {
    return this.values.get(v);
  }

  isSliceable(v: string): boolean {
    return this.isConst(v) && this.g.initializers.has(v);
  }

  addSlice(slice: InitSlice): void {
    this.cg.slices.push(slice);
  }

  addReshapeFix(fix: ReshapeFix): void {
    this.cg.reshapes.push(fix);
  }

  addStatistic(node: Node, m: ChannelMap, axes: number[], norm = node.label): boolean {
    const type = this.types.get(node.inputs[0]!);
    const dims = type?.shape ?? [];
    if (type?.dtype !== 'float32') this.stop(node, [m], `a LayerNorm over them computes in ${type?.dtype ?? 'an unknown type'}`);
    else if (axes.some((a) => a !== m.axis && typeof dims[a] !== 'number')) this.stop(node, [m], 'a LayerNorm over them also normalizes axes of unknown size');
    else {
      this.cg.statistics.push({ node, axis: m.axis, rank: dims.length, dims, axes, ids: m.ids, norm });
      return true;
    }
    return false;
  }

  setMap(name: string | undefined, m: ChannelMap): void {
    if (!name) return;
    this.maps.set(name, m);
    this.cg.mapped.add(name);
  }

  stop(node: Node | undefined, ms: readonly ChannelMap[], why: string): void {
    const live = ms.filter((m) => m.ids.some((id) => id >= 0));
    if (!live.length) return;
    const where = node ? `${why} (node ${node.label})` : why;
    this.freeze(live, where);
    const key = this.spaceNames(live);
    this.stopped.set(key, [...(this.stopped.get(key) ?? []), where]);
  }

  unsupported(node: Node, ms: readonly ChannelMap[], why: string): void {
    if (this.mode === 'error') {
      throw new InputError(
        `prune: cannot follow the channels of ${this.spaceNames(ms)} through node ${node.label}: ${why}; ` +
          'prune with unsupported=skip to leave these channels unpruned',
      );
    }
    this.stop(node, ms, `not followed: ${why}`);
  }

  // --- bookkeeping ---

  private union(a: number, b: number): void {
    const ra = find(this.cg, a);
    const rb = find(this.cg, b);
    if (ra !== rb) this.cg.parent[ra] = rb;
  }

  private spaceNames(ms: readonly ChannelMap[]): string {
    const names = new Set<string>();
    for (const m of ms) for (const id of m.ids) if (id >= 0) names.add(`'${spaceOf(this.cg, id).layer.name}'`);
    return [...names].join(', ') || 'no layer';
  }

  private freeze(ms: readonly ChannelMap[], why: string): void {
    for (const m of ms) for (const id of m.ids) if (id >= 0 && !this.cg.frozen.has(id)) this.cg.frozen.set(id, why);
  }

  private addSpace(layer: PrunableLayer, size: number, perGroup?: number): { space: Space; ids: Int32Array } {
    const offset = this.cg.parent.length;
    const space: Space = { index: this.cg.spaces.length, layer, size, offset, perGroup };
    this.cg.spaces.push(space);
    for (let i = 0; i < size; i++) this.cg.parent.push(offset + i);
    return { space, ids: Int32Array.from({ length: size }, (_, i) => offset + i) };
  }

  /** Read by other nodes too, a graph output, or a weight of a graph around this one. */
  private sharedWeight(name: string): boolean {
    return (this.readers.get(name)?.length ?? 0) > 1 || this.g.isGraphOutput(name) || !this.g.initializers.has(name);
  }

  // --- steps ---

  /** A grouped Conv: each group's output channels go together with its input channels. */
  private groupedLayer(node: Node, l: PrunableLayer, input: ChannelMap | undefined): void {
    const w = l.weight;
    const groups = l.group;
    const perGroup = w.dims[0]! / groups;
    const inPer = w.dims[1]!;
    const { space, ids } = this.addSpace(l, w.dims[0]!, perGroup);
    let inIds: Int32Array | undefined = input?.ids;
    if (input && (input.axis !== 1 || input.ids.length !== groups * inPer)) {
      this.stop(node, [input], 'channels reach a grouped Conv on another axis');
      inIds = undefined;
    }
    for (let k = 0; k < groups; k++) {
      const anchor = ids[k * perGroup]!;
      for (let j = 1; j < perGroup; j++) this.union(anchor, ids[k * perGroup + j]!);
      for (let j = 0; j < inPer; j++) {
        const id = inIds ? inIds[k * inPer + j]! : -1;
        if (id >= 0) this.union(anchor, id);
        else this.cg.frozen.set(anchor, `the input channels of grouped Conv ${node.label} are not prunable`);
      }
    }
    if (this.sharedWeight(w.name)) this.stop(node, [{ axis: 1, ids }], 'its weight is shared with another node');
    else this.cg.slices.push({ node, input: 1, axis: 0, ids });
    this.bias(node, ids);
    this.cg.groups.push(space);
    this.setMap(node.outputs[0], { axis: 1, ids });
  }

  /** A layer: the channels reaching it are sliced from its weight's input axis, and it opens a space of its own. */
  private layer(node: Node, l: PrunableLayer, input: ChannelMap | undefined): void {
    const w = l.weight;
    const shared = this.sharedWeight(w.name);
    const layout = opSpec(node)!.layer!;
    const a0 = this.shape(node.inputs[0]!);
    const kAxis = layout.inputChannelAxis(node, a0?.length);
    if (input) {
      if (input.axis !== kAxis) this.stop(node, [input], 'channels reach a layer on an axis it does not reduce');
      else if (shared) this.stop(node, [input], 'the weight reading them is shared with another node');
      else if (input.ids.length !== w.dims[l.layout.inAxis]) this.stop(node, [input], 'the channel count does not match the weight');
      else this.cg.slices.push({ node, input: 1, axis: l.layout.inAxis, ids: input.ids, sink: true, inputAxis: kAxis });
    }
    const { ids } = this.addSpace(l, w.dims[l.layout.outAxis]!);
    const out = this.shape(node.outputs[0]!);
    const map = { axis: layout.outputChannelAxis(out?.length ?? a0?.length ?? 0), ids };
    if (map.axis < 0) this.stop(node, [map], 'the output rank is unknown');
    if (shared) this.stop(node, [map], 'its weight is shared with another node');
    else this.cg.slices.push({ node, input: 1, axis: l.layout.outAxis, ids });
    this.bias(node, ids);
    this.setMap(node.outputs[0], map);
  }

  /** Conv bias [O], Gemm C broadcast to [M, N]: sliced with the output channels. */
  private bias(node: Node, ids: Int32Array): void {
    const b = node.inputs[2];
    if (!b) return;
    const bs = this.shape(b) ?? (this.consts.get(b) ? this.consts.get(b)!.dims : undefined);
    if (!this.isConst(b) || !this.g.initializers.has(b) || !bs) return this.stop(node, [{ axis: 0, ids }], 'its bias is not a constant');
    if (bs.length === 0 || bs[bs.length - 1] === 1) return; // a broadcast scalar or column
    if (bs[bs.length - 1] !== ids.length) return this.stop(node, [{ axis: 0, ids }], 'its bias does not match its channels');
    this.cg.slices.push({ node, input: 2, axis: bs.length - 1, ids });
  }

  /**
   * A statistic of a spelled-out LayerNorm over the channel axis: the channels cross it (they
   * carry on through the centred value), its output holds none. Float32 only: the masked
   * reference reproduces the statistics over the kept channels with float32 masks.
   */
  private normStatistic(node: Node, m: ChannelMap): boolean {
    const norm = this.norms.get(node);
    const rank = this.shape(node.inputs[0]!)?.length;
    if (!norm || rank === undefined) return false;
    const axes = norm.axes.map((a) => (a + rank) % rank);
    if (!axes.includes(m.axis)) return false;
    this.addStatistic(node, m, axes, norm.mean.label);
    return true;
  }

  /** Element-wise ops with numpy broadcasting: channels on the same positions are joined. */
  private broadcast(node: Node, ins: (ChannelMap | undefined)[]): void {
    const ranks = node.inputs.map((v) => (v ? this.shape(v)?.length : 0));
    const live = ins.filter((m): m is ChannelMap => !!m);
    if (ranks.some((r) => r === undefined)) return this.stop(node, live, 'an input rank is unknown');
    const outRank = Math.max(...(ranks as number[]));
    const axes = new Set(ins.map((m, i) => (m ? m.axis + outRank - ranks[i]! : -1)).filter((x) => x >= 0));
    if (axes.size > 1) return this.stop(node, live, 'channels meet on different axes');
    const axis = [...axes][0]!;
    const first = live[0]!;
    const merged = Int32Array.from(first.ids);
    for (const m of live.slice(1)) {
      if (m.ids.length !== merged.length) return this.stop(node, live, 'channel counts differ (broadcast over channels)');
      for (let p = 0; p < merged.length; p++) {
        const a = merged[p]!;
        const b = m.ids[p]!;
        if (a >= 0 && b >= 0) this.union(a, b);
        else if (a >= 0 || b >= 0) this.cg.frozen.set(a >= 0 ? a : b, `added to a fixed channel at node ${node.label}`);
        if (a < 0) merged[p] = b;
      }
    }
    for (const [i, v] of node.inputs.entries()) {
      if (!v || ins[i]) continue;
      const ax = axis - (outRank - ranks[i]!);
      const d = ax >= 0 ? this.shape(v)![ax] : 1;
      if (d === 1) continue;
      if (this.isSliceable(v) && d === merged.length) this.cg.slices.push({ node, input: i, axis: ax, ids: merged });
      else return this.stop(node, [{ axis, ids: merged }], `input '${v}' is combined with them position by position`);
    }
    for (const o of node.outputs) this.setMap(o, { axis, ids: merged });
  }

  /** Concat along the channel axis lays the channel lists end to end; along another axis it acts like a broadcast. */
  private concat(node: Node, ins: (ChannelMap | undefined)[]): void {
    const live = ins.filter((m): m is ChannelMap => !!m);
    const rank = this.shape(node.inputs[0]!)?.length;
    if (rank === undefined) return this.stop(node, live, 'the input rank is unknown');
    const axis = (node.getInt('axis', 0) + rank) % rank;
    if (live.some((m) => m.axis !== live[0]!.axis)) return this.stop(node, live, 'channels arrive on different axes');
    if (live[0]!.axis !== axis) return this.broadcast(node, ins);
    const parts: Int32Array[] = [];
    for (const [i, v] of node.inputs.entries()) {
      if (ins[i]) parts.push(ins[i]!.ids);
      else {
        const d = this.shape(v)?.[axis];
        if (typeof d !== 'number') return this.unsupported(node, live, `the size of input '${v}' along the concatenation axis is not known`);
        parts.push(new Int32Array(d).fill(-1));
      }
    }
    const ids = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      ids.set(p, at);
      at += p.length;
    }
    this.setMap(node.outputs[0], { axis, ids });
  }
}
