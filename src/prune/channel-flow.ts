/**
 * How a channel map crosses an op with one activation input, one function per channel rule
 * of the op table (`channels`): the map moves to the outputs, parameters along the channels
 * are sliced, or the channels stop (kept) — or, where the layout becomes ambiguous, the
 * analysis refuses (`unsupported`). Ops with several activation inputs (broadcast, concat)
 * and the layers themselves are handled by the channel graph.
 */
import type { Node } from '../ir/node.ts';
import type { Dim } from '../ir/value.ts';
import { opSpec } from '../ops/registry.ts';
import type { ChannelRule } from '../ops/types.ts';
import { resolveReshape } from '../ops/shape-math.ts';
import { flattenDims, literalTarget, reshapeMap, squeezeMap, transposeMap, unsqueezeMap, type ChannelMap } from './axis-map.ts';
import type { InitSlice, ReshapeFix } from './channel-types.ts';

/** What a flow step may read and record; the channel graph's analysis provides it. */
export interface ChannelFlowContext {
  /** The default-domain opset (Softmax's default axis changed in 13). */
  readonly opset: number;
  shape(value: string): Dim[] | undefined;
  /** An ints attribute, or the same list from a constant input (where newer opsets moved it). */
  ints(node: Node, attr: string, input: number): number[] | undefined;
  /** A constant the model does not take as an input. */
  isConst(value: string): boolean;
  /** The values of a small integer tensor computed from shapes (shape inference's data propagation). */
  shapeValue(value: string): Dim[] | undefined;
  /** A constant initializer, which the rewrite can slice. */
  isSliceable(value: string): boolean;
  addSlice(slice: InitSlice): void;
  addReshapeFix(fix: ReshapeFix): void;
  /** A normalisation whose statistics run over the channels (see Statistic); false if they are kept instead. */
  addStatistic(node: Node, m: ChannelMap, axes: number[]): boolean;
  setMap(name: string | undefined, m: ChannelMap): void;
  /** Channels that cannot be removed: kept, with a note. */
  stop(node: Node | undefined, ms: readonly ChannelMap[], why: string): void;
  /** A layout the analysis cannot follow: refused, or kept under unsupported=skip. */
  unsupported(node: Node, ms: readonly ChannelMap[], why: string): void;
}

type Flow = (c: ChannelFlowContext, node: Node, m: ChannelMap, rank: number) => void;

/** Carries `m` through `node`, whose only input with channels is input 0. */
export function followSingleInput(c: ChannelFlowContext, node: Node, m: ChannelMap, rule: ChannelRule | undefined): void {
  // These rules hold whatever the input's rank.
  switch (rule) {
    case 'same':
      for (const o of node.outputs) c.setMap(o, m);
      return;
    case 'per-channel-params':
      return perChannelParams(c, node, m);
    case 'pool':
      if (m.axis !== 1) return c.stop(node, [m], 'channels are on a pooled axis');
      if (node.outputs[1]) return c.stop(node, [m], 'its indices output depends on the channel count');
      return c.setMap(node.outputs[0], m);
  }
  const rank = c.shape(node.inputs[0]!)?.length;
  if (rank === undefined) return c.stop(node, [m], 'the input rank is unknown');
  const flow = rule === undefined ? undefined : RANKED_FLOWS[rule];
  if (!flow) return c.stop(node, [m], `${node.opType} is not known to keep channels apart`);
  flow(c, node, m, rank);
}

/** BatchNormalization-like: with channels on axis 1, each weight input is sliced with them. */
function perChannelParams(c: ChannelFlowContext, node: Node, m: ChannelMap): void {
  if (m.axis === 1) {
    const params = opSpec(node)?.weightInputs ?? [];
    if (params.some((i) => !c.isSliceable(node.inputs[i] ?? ''))) return c.stop(node, [m], 'its parameters are not constants');
    for (const i of params) c.addSlice({ node, input: i, axis: 0, ids: m.ids });
    if (node.outputs.slice(1).some(Boolean)) return c.stop(node, [m], 'its running statistics are outputs');
  }
  c.setMap(node.outputs[0], m);
}

/**
 * Reshape or Flatten: followed while the channel axis stays whole. A Reshape target computed
 * at run time (Shape → Gather → Concat) is followed when shape inference resolves it; where the
 * channel count must change in it, the rewrite replaces it by the literal target.
 */
function reshape(c: ChannelFlowContext, node: Node, m: ChannelMap, flatten: boolean): void {
  const inDims = c.shape(node.inputs[0]!);
  if (!inDims) return c.unsupported(node, [m], 'its input shape is not known');
  let outDims: Dim[];
  let target: number[] | undefined;
  let computed = false;
  if (flatten) {
    const axis = node.getInt('axis', 1);
    outDims = flattenDims(inDims, axis < 0 ? axis + inDims.length : axis);
  } else {
    const allowZero = node.getInt('allowzero', 0) === 1;
    computed = !c.isConst(node.inputs[1]!);
    target = computed ? literalTarget(c.shapeValue(node.inputs[1]!), inDims, allowZero) : c.ints(node, 'shape', 1);
    if (!target) return c.unsupported(node, [m], 'its target shape is computed at run time from sizes not known before it runs');
    outDims = resolveReshape(inDims, target, allowZero);
  }
  const moved = reshapeMap(inDims, outDims, m);
  if ('reason' in moved) return c.unsupported(node, [m], moved.reason);
  if (target) {
    const pos = moved.map.axis;
    const literal = target[pos]!;
    if (literal > 0) c.addReshapeFix({ node, position: pos, ids: moved.map.ids, ...(computed && { target }) });
    else if (literal === 0 && pos !== m.axis) return c.unsupported(node, [m], 'its target copies a dimension (0) that the channels move to');
  }
  c.setMap(node.outputs[0], moved.map);
}

const RANKED_FLOWS: Partial<Record<ChannelRule, Flow>> = {
  'normalize-from-axis': layerNorm,
  softmax: (c, node, m, rank) => {
    // Before opset 13 a softmax flattens from `axis` (default 1) on; from 13 it runs along `axis` (default −1).
    const axis = (node.getInt('axis', c.opset >= 13 ? -1 : 1) + rank) % rank;
    if (c.opset >= 13 ? m.axis === axis : m.axis >= axis) return c.stop(node, [m], 'it normalizes across the channels');
    c.setMap(node.outputs[0], m);
  },
  reduce: (c, node, m, rank) => {
    const given = c.ints(node, 'axes', 1);
    const axes = given && given.length ? given.map((x) => (x + rank) % rank) : node.getInt('noop_with_empty_axes', 0) ? [] : [...Array(rank).keys()];
    if (axes.includes(m.axis)) return c.stop(node, [m], 'it reduces across the channels');
    const keep = node.getInt('keepdims', 1) === 1;
    c.setMap(node.outputs[0], { axis: keep ? m.axis : m.axis - axes.filter((x) => x < m.axis).length, ids: m.ids });
  },
  reshape: (c, node, m) => reshape(c, node, m, false),
  flatten: (c, node, m) => reshape(c, node, m, true),
  transpose: (c, node, m, rank) => {
    const perm = node.getInts('perm') ?? [...Array(rank).keys()].reverse();
    c.setMap(node.outputs[0], transposeMap(m, perm));
  },
  squeeze: (c, node, m, rank) => {
    const given = c.ints(node, 'axes', 1);
    const s = c.shape(node.inputs[0]!)!;
    const axes = given ? given.map((x) => (x + rank) % rank) : s.flatMap((d, i) => (d === 1 ? [i] : []));
    if (!given && s.some((d) => typeof d !== 'number')) return c.unsupported(node, [m], 'it squeezes axes whose sizes are not known');
    const moved = squeezeMap(m, axes);
    if (!moved) return c.unsupported(node, [m], 'it squeezes the channel axis');
    c.setMap(node.outputs[0], moved);
  },
  unsqueeze: (c, node, m, rank) => {
    const given = c.ints(node, 'axes', 1);
    if (!given) return c.unsupported(node, [m], 'its axes are computed at run time');
    const outRank = rank + given.length;
    c.setMap(node.outputs[0], unsqueezeMap(m, given.map((x) => (x + outRank) % outRank), outRank));
  },
  split: (c, node, m, rank) => {
    const axis = (node.getInt('axis', 0) + rank) % rank;
    if (axis === m.axis) return c.unsupported(node, [m], 'it splits the channel axis');
    for (const o of node.outputs) c.setMap(o, m);
  },
  slice: (c, node, m, rank) => {
    const starts = c.ints(node, 'starts', 1);
    const ends = c.ints(node, 'ends', 2);
    const axes = (c.ints(node, 'axes', 3) ?? starts?.map((_, i) => i))?.map((x) => (x + rank) % rank);
    const steps = c.ints(node, 'steps', 4);
    if (!starts || !ends || !axes) return c.unsupported(node, [m], 'its bounds are computed at run time');
    const k = axes.indexOf(m.axis);
    if (k >= 0 && !(starts[k] === 0 && ends[k]! >= m.ids.length && (steps?.[k] ?? 1) === 1)) return c.unsupported(node, [m], 'it slices the channel axis');
    c.setMap(node.outputs[0], m);
  },
  pad: (c, node, m, rank) => {
    const pads = c.ints(node, 'pads', 1);
    if (!pads || node.inputs[3]) return c.unsupported(node, [m], 'its pads are computed at run time');
    if (pads[m.axis] !== 0 || pads[m.axis + rank] !== 0) return c.unsupported(node, [m], 'it pads the channel axis');
    c.setMap(node.outputs[0], m);
  },
  resize: (c, node, m) => resize(c, node, m, 2),
  upsample: (c, node, m) => resize(c, node, m, 1),
};

/**
 * LayerNormalization: channels before `axis` pass; channels it normalizes over pass too, their
 * scale and bias sliced with them, and its statistics then run over the kept channels.
 */
function layerNorm(c: ChannelFlowContext, node: Node, m: ChannelMap, rank: number): void {
  const from = (node.getInt('axis', -1)! + rank) % rank;
  if (m.axis < from) return c.setMap(node.outputs[0], m);
  if (node.outputs.slice(1).some(Boolean)) return c.stop(node, [m], 'its mean and deviation outputs are read');
  const params = node.inputs.slice(1, 3).map((v, k) => ({ v, input: k + 1, dims: v ? c.shape(v) : undefined }));
  for (const { v, dims } of params) {
    if (!v) continue;
    const at = m.axis - (rank - (dims?.length ?? 0));
    if (!dims || !c.isSliceable(v) || (at >= 0 && dims[at] !== 1 && dims[at] !== m.ids.length)) return c.stop(node, [m], 'its scale or bias is not a constant along the channels');
  }
  if (!c.addStatistic(node, m, Array.from({ length: rank - from }, (_, i) => from + i))) return;
  for (const { v, input, dims } of params) {
    const at = m.axis - (rank - (dims?.length ?? 0));
    if (v && at >= 0 && dims![at] !== 1) c.addSlice({ node, input, axis: at, ids: m.ids });
  }
  c.setMap(node.outputs[0], m);
}

/** Resize and Upsample: the channel axis (1) must keep its scale of 1. */
function resize(c: ChannelFlowContext, node: Node, m: ChannelMap, scalesInput: number): void {
  const scales = c.ints(node, 'scales', scalesInput);
  if (m.axis !== 1 || (node.inputs[3] && !scales) || (scales && scales[1] !== 1)) return c.unsupported(node, [m], 'it resizes the channel axis');
  c.setMap(node.outputs[0], m);
}
