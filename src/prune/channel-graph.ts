/**
 * Channel dependencies for structured pruning. Every Conv/Gemm/MatMul with a constant
 * weight opens a "space": its output channels, each with a global id. Channel maps follow
 * those ids forward through the graph (activations, BatchNormalization, pools, Flatten and
 * Reshape blocks, Transpose, Concat offsets …) to the layers that read them as input
 * channels. Channels that must go together are joined (union-find): the two sides of a
 * residual Add/Mul, a grouped Conv's input and output channels of one group. Channels that
 * cannot be removed — they reach a graph output, a Softmax over channels, an op not known to
 * keep channels apart — are frozen. Where the channel layout becomes ambiguous (a Reshape
 * that splits the channel axis, a shape computed at run time) the analysis refuses with the
 * node's name, or freezes those channels when asked to skip.
 *
 * The result lists every initializer slice and attribute fix the rewrite needs; nothing is
 * changed here.
 */
import { InputError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import type { Dim } from '../ir/value.ts';
import { constantValues, inferShapes } from '../ops/infer.ts';
import { reshapeMap, flattenDims, resolveReshape, squeezeMap, transposeMap, unsqueezeMap, type ChannelMap } from './axis-map.ts';
import { initializerReaders, prunableLayers, type PrunableLayer } from './layers.ts';
import type { OnUnsupported } from './types.ts';

export interface Space {
  index: number;
  layer: PrunableLayer;
  /** Output channels. */
  size: number;
  /** Global id of channel 0. */
  offset: number;
  /** Channels per group of a grouped Conv (whole groups go together). */
  perGroup?: number;
}

/** Keep, along `axis` of initializer input `input` of `node`, the positions whose channel stays. */
export interface InitSlice {
  node: Node;
  input: number;
  axis: number;
  ids: Int32Array;
  /** The weight's input-channel axis of a layer reading the channels (zeroed in the masked reference). */
  sink?: boolean;
  /** For a sink: the axis of the layer's input that holds the channels. */
  inputAxis?: number;
}

/** A Reshape target whose literal at `position` becomes the number of kept positions of `ids`. */
export interface ReshapeFix {
  node: Node;
  position: number;
  ids: Int32Array;
}

export interface ChannelGraph {
  graph: Graph;
  spaces: Space[];
  /** Union-find parent per global id. */
  parent: number[];
  /** Why an id is frozen (set on any member; read through the root). */
  frozen: Map<number, string>;
  slices: InitSlice[];
  reshapes: ReshapeFix[];
  /** Grouped Convs whose group count follows their kept channels. */
  groups: Space[];
  /** Values whose channel count may change (their value_info goes stale). */
  mapped: Set<string>;
  notes: string[];
}

export function find(cg: Pick<ChannelGraph, 'parent'>, id: number): number {
  const p = cg.parent;
  while (p[id] !== id) {
    p[id] = p[p[id]!]!;
    id = p[id]!;
  }
  return id;
}

export function spaceOf(cg: ChannelGraph, id: number): Space {
  let lo = 0;
  let hi = cg.spaces.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cg.spaces[mid]!.offset <= id) lo = mid;
    else hi = mid - 1;
  }
  return cg.spaces[lo]!;
}

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Erf', 'Gelu', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Softplus', 'Softsign',
  'Mish', 'Celu', 'ThresholdedRelu', 'Clip', 'Identity', 'Dropout', 'Cast', 'Sqrt', 'Exp', 'Log', 'Neg', 'Abs',
  'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Sign', 'Not', 'IsNaN', 'IsInf',
]);
const BROADCAST = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'PRelu', 'Where', 'And', 'Or', 'Xor',
  'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'BitShift',
]);
const POOLS = new Set(['MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']);
const REDUCE = /^Reduce(Mean|Sum|Max|Min|Prod|L1|L2|LogSum|LogSumExp|SumSquare)$/;
/** Ops whose result does not depend on channel layout (they read only shapes or nothing of it). */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

export function analyzeChannels(model: Model, mode: OnUnsupported): ChannelGraph {
  const g = model.graph;
  const types = inferShapes(model);
  const consts = constantValues(g);
  const readers = initializerReaders(g);
  const opset = model.opsets.get('') ?? 0;
  const layers = new Map(prunableLayers(model, ['Conv', 'Gemm', 'MatMul']).map((l) => [l.node, l]));
  const cg: ChannelGraph = { graph: g, spaces: [], parent: [], frozen: new Map(), slices: [], reshapes: [], groups: [], mapped: new Set(), notes: [] };
  const maps = new Map<string, ChannelMap>();
  const stopped = new Map<string, string[]>();

  const shape = (v: string): Dim[] | undefined => types.get(v)?.shape;
  const ints = (node: Node, attr: string, input: number): number[] | undefined => {
    const a = node.getInts(attr);
    if (a) return a;
    const t = node.inputs[input] ? consts.get(node.inputs[input]!) : undefined;
    return t ? Array.from(t.typed() as ArrayLike<number | bigint>, Number) : undefined;
  };
  const isConst = (v: string) => consts.has(v) && !g.inputs.some((i) => i.name === v);
  const union = (a: number, b: number) => {
    const ra = find(cg, a);
    const rb = find(cg, b);
    if (ra !== rb) cg.parent[ra] = rb;
  };
  const spaceNames = (ms: readonly ChannelMap[]) => {
    const names = new Set<string>();
    for (const m of ms) for (const id of m.ids) if (id >= 0) names.add(`'${spaceOf(cg, id).layer.name}'`);
    return [...names].join(', ') || 'no layer';
  };
  const freeze = (ms: readonly ChannelMap[], why: string) => {
    for (const m of ms) for (const id of m.ids) if (id >= 0 && !cg.frozen.has(id)) cg.frozen.set(id, why);
  };
  /** Channels that cannot be removed: kept, with a note. */
  const stop = (node: Node | undefined, ms: readonly ChannelMap[], why: string) => {
    const live = ms.filter((m) => m.ids.some((id) => id >= 0));
    if (!live.length) return;
    const where = node ? `${why} (node ${node.label})` : why;
    freeze(live, where);
    const key = spaceNames(live);
    stopped.set(key, [...(stopped.get(key) ?? []), where]);
  };
  /** A layout the analysis cannot follow: refused, or frozen under unsupported=skip. */
  const unsupported = (node: Node, ms: readonly ChannelMap[], why: string) => {
    if (mode === 'error') {
      throw new InputError(
        `prune: cannot follow the channels of ${spaceNames(ms)} through node ${node.label}: ${why}; ` +
          'prune with unsupported=skip to leave these channels unpruned',
      );
    }
    stop(node, ms, `not followed: ${why}`);
  };
  const setMap = (name: string | undefined, m: ChannelMap) => {
    if (!name) return;
    maps.set(name, m);
    cg.mapped.add(name);
  };
  const addSpace = (layer: PrunableLayer, size: number, perGroup?: number): { space: Space; ids: Int32Array } => {
    const offset = cg.parent.length;
    const space: Space = { index: cg.spaces.length, layer, size, offset, perGroup };
    cg.spaces.push(space);
    for (let i = 0; i < size; i++) cg.parent.push(offset + i);
    return { space, ids: Int32Array.from({ length: size }, (_, i) => offset + i) };
  };
  const sharedWeight = (name: string) => (readers.get(name)?.length ?? 0) > 1 || g.isGraphOutput(name);

  function layer(node: Node, l: PrunableLayer, input: ChannelMap | undefined): void {
    const w = l.weight;
    const shared = sharedWeight(w.name);
    const outAxis = l.layout.outAxis;
    if (node.opType === 'Conv' && l.group > 1) {
      const groups = l.group;
      const perGroup = w.dims[0]! / groups;
      const inPer = w.dims[1]!;
      const { space, ids } = addSpace(l, w.dims[0]!, perGroup);
      let inIds: Int32Array | undefined = input?.ids;
      if (input && (input.axis !== 1 || input.ids.length !== groups * inPer)) {
        stop(node, [input], 'channels reach a grouped Conv on another axis');
        inIds = undefined;
      }
      for (let k = 0; k < groups; k++) {
        const anchor = ids[k * perGroup]!;
        for (let j = 1; j < perGroup; j++) union(anchor, ids[k * perGroup + j]!);
        for (let j = 0; j < inPer; j++) {
          const id = inIds ? inIds[k * inPer + j]! : -1;
          if (id >= 0) union(anchor, id);
          else cg.frozen.set(anchor, `the input channels of grouped Conv ${node.label} are not prunable`);
        }
      }
      if (shared) stop(node, [{ axis: 1, ids }], 'its weight is shared with another node');
      cg.slices.push({ node, input: 1, axis: 0, ids });
      bias(node, ids);
      cg.groups.push(space);
      setMap(node.outputs[0], { axis: 1, ids });
      return;
    }
    const a0 = shape(node.inputs[0]!);
    const kAxis = node.opType === 'Conv' ? 1 : node.opType === 'Gemm' ? (node.getInt('transA', 0) ? 0 : 1) : a0 ? a0.length - 1 : -1;
    if (input) {
      if (input.axis !== kAxis) stop(node, [input], 'channels reach a layer on an axis it does not reduce');
      else if (shared) stop(node, [input], 'the weight reading them is shared with another node');
      else if (input.ids.length !== w.dims[l.layout.inAxis]) stop(node, [input], 'the channel count does not match the weight');
      else cg.slices.push({ node, input: 1, axis: l.layout.inAxis, ids: input.ids, sink: true, inputAxis: kAxis });
    }
    const { ids } = addSpace(l, w.dims[outAxis]!);
    const out = shape(node.outputs[0]!);
    const axis = node.opType === 'MatMul' ? (out?.length ?? a0?.length ?? 0) - 1 : 1;
    const map = { axis, ids };
    if (axis < 0) stop(node, [map], 'the output rank is unknown');
    if (shared) stop(node, [map], 'its weight is shared with another node');
    cg.slices.push({ node, input: 1, axis: outAxis, ids });
    bias(node, ids);
    setMap(node.outputs[0], map);
  }

  /** Conv bias [O], Gemm C broadcast to [M, N]: sliced with the output channels. */
  function bias(node: Node, ids: Int32Array): void {
    const b = node.inputs[2];
    if (!b) return;
    const bs = shape(b) ?? (consts.get(b) ? consts.get(b)!.dims : undefined);
    if (!isConst(b) || !g.initializers.has(b) || !bs) {
      stop(node, [{ axis: 0, ids }], 'its bias is not a constant');
      return;
    }
    if (bs.length === 0 || bs[bs.length - 1] === 1) return; // a broadcast scalar or column
    if (bs[bs.length - 1] !== ids.length) {
      stop(node, [{ axis: 0, ids }], 'its bias does not match its channels');
      return;
    }
    cg.slices.push({ node, input: 2, axis: bs.length - 1, ids });
  }

  /** Element-wise ops with numpy broadcasting: channels on the same positions are joined. */
  function broadcastOp(node: Node, ins: (ChannelMap | undefined)[]): void {
    const ranks = node.inputs.map((v) => (v ? shape(v)?.length : 0));
    const live = ins.filter((m): m is ChannelMap => !!m);
    if (ranks.some((r) => r === undefined)) return stop(node, live, 'an input rank is unknown');
    const outRank = Math.max(...(ranks as number[]));
    const axes = new Set(ins.map((m, i) => (m ? m.axis + outRank - ranks[i]! : -1)).filter((x) => x >= 0));
    if (axes.size > 1) return stop(node, live, 'channels meet on different axes');
    const axis = [...axes][0]!;
    const first = live[0]!;
    const merged = Int32Array.from(first.ids);
    for (const m of live.slice(1)) {
      if (m.ids.length !== merged.length) return stop(node, live, 'channel counts differ (broadcast over channels)');
      for (let p = 0; p < merged.length; p++) {
        const a = merged[p]!;
        const b = m.ids[p]!;
        if (a >= 0 && b >= 0) union(a, b);
        else if (a >= 0 || b >= 0) cg.frozen.set(a >= 0 ? a : b, `added to a fixed channel at node ${node.label}`);
        if (a < 0) merged[p] = b;
      }
    }
    for (const [i, v] of node.inputs.entries()) {
      if (!v || ins[i]) continue;
      const ax = axis - (outRank - ranks[i]!);
      const d = ax >= 0 ? shape(v)![ax] : 1;
      if (d === 1) continue;
      if (isConst(v) && g.initializers.has(v) && d === merged.length) cg.slices.push({ node, input: i, axis: ax, ids: merged });
      else return stop(node, [{ axis, ids: merged }], `input '${v}' is combined with them position by position`);
    }
    for (const o of node.outputs) setMap(o, { axis, ids: merged });
  }

  function concat(node: Node, ins: (ChannelMap | undefined)[]): void {
    const live = ins.filter((m): m is ChannelMap => !!m);
    const rank = shape(node.inputs[0]!)?.length;
    if (rank === undefined) return stop(node, live, 'the input rank is unknown');
    const axis = (node.getInt('axis', 0) + rank) % rank;
    if (live.some((m) => m.axis !== live[0]!.axis)) return stop(node, live, 'channels arrive on different axes');
    if (live[0]!.axis !== axis) return broadcastOp(node, ins);
    const parts: Int32Array[] = [];
    for (const [i, v] of node.inputs.entries()) {
      if (ins[i]) parts.push(ins[i]!.ids);
      else {
        const d = shape(v)?.[axis];
        if (typeof d !== 'number') return unsupported(node, live, `the size of input '${v}' along the concatenation axis is not known`);
        parts.push(new Int32Array(d).fill(-1));
      }
    }
    const ids = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      ids.set(p, at);
      at += p.length;
    }
    setMap(node.outputs[0], { axis, ids });
  }

  function reshape(node: Node, m: ChannelMap): void {
    const inDims = shape(node.inputs[0]!);
    if (!inDims) return unsupported(node, [m], 'its input shape is not known');
    let outDims: Dim[];
    let target: number[] | undefined;
    if (node.opType === 'Flatten') {
      const axis = node.getInt('axis', 1);
      outDims = flattenDims(inDims, axis < 0 ? axis + inDims.length : axis);
    } else {
      target = ints(node, 'shape', 1);
      if (!target || !isConst(node.inputs[1]!)) return unsupported(node, [m], 'its target shape is computed at run time');
      outDims = resolveReshape(inDims, target, node.getInt('allowzero', 0) === 1);
    }
    const moved = reshapeMap(inDims, outDims, m);
    if ('reason' in moved) return unsupported(node, [m], moved.reason);
    if (target) {
      const pos = moved.map.axis;
      const literal = target[pos]!;
      if (literal > 0) cg.reshapes.push({ node, position: pos, ids: moved.map.ids });
      else if (literal === 0 && pos !== m.axis) return unsupported(node, [m], 'its target copies a dimension (0) that the channels move to');
    }
    setMap(node.outputs[0], moved.map);
  }

  function single(node: Node, m: ChannelMap): void {
    const op = node.opType;
    const rank = shape(node.inputs[0]!)?.length;
    if (UNARY.has(op)) {
      for (const o of node.outputs) setMap(o, m);
      return;
    }
    if (op === 'BatchNormalization' || op === 'InstanceNormalization') {
      if (m.axis === 1) {
        const params = op === 'BatchNormalization' ? [1, 2, 3, 4] : [1, 2];
        if (params.some((i) => !isConst(node.inputs[i] ?? '') || !g.initializers.has(node.inputs[i] ?? ''))) return stop(node, [m], 'its parameters are not constants');
        for (const i of params) cg.slices.push({ node, input: i, axis: 0, ids: m.ids });
        if (node.outputs.slice(1).some(Boolean)) return stop(node, [m], 'its running statistics are outputs');
      }
      setMap(node.outputs[0], m);
      return;
    }
    if (POOLS.has(op)) {
      if (m.axis !== 1) return stop(node, [m], 'channels are on a pooled axis');
      if (node.outputs[1]) return stop(node, [m], 'its indices output depends on the channel count');
      setMap(node.outputs[0], m);
      return;
    }
    if (rank === undefined) return stop(node, [m], 'the input rank is unknown');
    if (op === 'LayerNormalization') {
      const axis = node.getInt('axis', -1);
      if (m.axis >= (axis + rank) % rank) return stop(node, [m], 'it normalizes across the channels');
      setMap(node.outputs[0], m);
      return;
    }
    if (op === 'Softmax' || op === 'LogSoftmax' || op === 'Hardmax') {
      const axis = (node.getInt('axis', opset >= 13 ? -1 : 1) + rank) % rank;
      if (opset >= 13 ? m.axis === axis : m.axis >= axis) return stop(node, [m], 'it normalizes across the channels');
      setMap(node.outputs[0], m);
      return;
    }
    if (REDUCE.test(op)) {
      const given = ints(node, 'axes', 1);
      const axes = given && given.length ? given.map((x) => (x + rank) % rank) : node.getInt('noop_with_empty_axes', 0) ? [] : [...Array(rank).keys()];
      if (axes.includes(m.axis)) return stop(node, [m], 'it reduces across the channels');
      const keep = node.getInt('keepdims', 1) === 1;
      setMap(node.outputs[0], { axis: keep ? m.axis : m.axis - axes.filter((x) => x < m.axis).length, ids: m.ids });
      return;
    }
    switch (op) {
      case 'Flatten':
      case 'Reshape':
        return reshape(node, m);
      case 'Transpose': {
        const perm = node.getInts('perm') ?? [...Array(rank).keys()].reverse();
        setMap(node.outputs[0], transposeMap(m, perm));
        return;
      }
      case 'Squeeze': {
        const given = ints(node, 'axes', 1);
        const s = shape(node.inputs[0]!)!;
        const axes = given ? given.map((x) => (x + rank) % rank) : s.flatMap((d, i) => (d === 1 ? [i] : []));
        if (!given && s.some((d) => typeof d !== 'number')) return unsupported(node, [m], 'it squeezes axes whose sizes are not known');
        const moved = squeezeMap(m, axes);
        if (!moved) return unsupported(node, [m], 'it squeezes the channel axis');
        setMap(node.outputs[0], moved);
        return;
      }
      case 'Unsqueeze': {
        const given = ints(node, 'axes', 1);
        if (!given) return unsupported(node, [m], 'its axes are computed at run time');
        const outRank = rank + given.length;
        setMap(node.outputs[0], unsqueezeMap(m, given.map((x) => (x + outRank) % outRank), outRank));
        return;
      }
      case 'Split': {
        const axis = (node.getInt('axis', 0) + rank) % rank;
        if (axis === m.axis) return unsupported(node, [m], 'it splits the channel axis');
        for (const o of node.outputs) setMap(o, m);
        return;
      }
      case 'Slice': {
        const starts = ints(node, 'starts', 1);
        const ends = ints(node, 'ends', 2);
        const axes = (ints(node, 'axes', 3) ?? starts?.map((_, i) => i))?.map((x) => (x + rank) % rank);
        const steps = ints(node, 'steps', 4);
        if (!starts || !ends || !axes) return unsupported(node, [m], 'its bounds are computed at run time');
        const k = axes.indexOf(m.axis);
        if (k >= 0 && !(starts[k] === 0 && ends[k]! >= m.ids.length && (steps?.[k] ?? 1) === 1)) return unsupported(node, [m], 'it slices the channel axis');
        setMap(node.outputs[0], m);
        return;
      }
      case 'Pad': {
        const pads = ints(node, 'pads', 1);
        if (!pads || node.inputs[3]) return unsupported(node, [m], 'its pads are computed at run time');
        if (pads[m.axis] !== 0 || pads[m.axis + rank] !== 0) return unsupported(node, [m], 'it pads the channel axis');
        setMap(node.outputs[0], m);
        return;
      }
      case 'Resize':
      case 'Upsample': {
        const scales = ints(node, 'scales', op === 'Upsample' ? 1 : 2);
        if (m.axis !== 1 || (node.inputs[3] && !scales) || (scales && scales[1] !== 1)) return unsupported(node, [m], 'it resizes the channel axis');
        setMap(node.outputs[0], m);
        return;
      }
    }
    stop(node, [m], `${op} is not known to keep channels apart`);
  }

  for (const node of g.nodes) {
    const ins = node.inputs.map((v) => (v ? maps.get(v) : undefined));
    const inner = node.subgraphs().flatMap((s) => [...s.outerReferences()]).map((v) => maps.get(v)).filter((m): m is ChannelMap => !!m);
    if (inner.length) stop(node, inner, 'read inside a subgraph');
    const l = layers.get(node);
    if (l) {
      stop(node, ins.slice(1).filter((m): m is ChannelMap => !!m), 'channels feed a weight input');
      layer(node, l, ins[0]);
      continue;
    }
    const live = ins.filter((m): m is ChannelMap => !!m);
    if (!live.length || SHAPE_ONLY.has(node.opType)) continue;
    if (node.domain !== '' && node.domain !== 'ai.onnx') {
      stop(node, live, `${node.domain} ops are not known to keep channels apart`);
      continue;
    }
    if (BROADCAST.has(node.opType)) broadcastOp(node, ins);
    else if (node.opType === 'Concat') concat(node, ins);
    else if (ins.slice(1).some(Boolean)) stop(node, live, 'channels feed a parameter input');
    else single(node, ins[0]!);
  }
  for (const o of g.outputs) {
    const m = maps.get(o.name);
    if (m) stop(undefined, [m], `graph output '${o.name}'`);
  }
  for (const [names, whys] of stopped) cg.notes.push(`channels of ${names} kept: ${whys.slice(0, 3).join('; ')}${whys.length > 3 ? ` (+${whys.length - 3} more)` : ''}`);
  return cg;
}

