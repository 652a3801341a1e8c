/**
 * The channel graph's data: spaces of channel ids, the slices and fixes the rewrite applies,
 * LayerNorm statistics over channels, and the union-find over channel ids. Built by
 * channel-graph.ts, read by the plan, the rewrite, the masked reference and compensation.
 */
import type { Graph } from '../ir/graph.ts';
import type { Node } from '../ir/node.ts';
import type { Dim } from '../ir/value.ts';
import type { PrunableLayer } from './layers.ts';

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
  /** A target computed at run time, as literals: the rewrite gives the Reshape this constant instead. */
  target?: number[];
}

/**
 * A statistic over channels (the mean or variance of a spelled-out LayerNorm): after pruning it
 * is computed over the kept channels only, which the masked reference reproduces.
 */
export interface Statistic {
  node: Node;
  /** The axis of its input that holds the channels, that input's rank and dims, and the axes it reduces. */
  axis: number;
  rank: number;
  dims: Dim[];
  axes: number[];
  ids: Int32Array;
  /** The LayerNorm it belongs to (its mean's node label). */
  norm: string;
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
  statistics: Statistic[];
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
