/**
 * Which channels go. Each space's channels are scored (L1 or L2 norm of their weights, or
 * |gamma| of the BatchNormalization right after the layer), normalized by the space's mean
 * so coupled layers weigh alike. Joined channels form classes scored by the sum of their
 * members; spaces linked by classes form a component, and each component loses the
 * requested fraction of its free classes, lowest scores first — never a layer's last channel.
 */
import type { Graph } from '../ir/graph.ts';
import { find, spaceOf, type ChannelGraph, type Space } from './channel-types.ts';
import type { Criterion } from './types.ts';

export interface ChannelPlanOptions {
  /** Fraction of each component's free classes to remove. */
  fraction: number;
  /** Per-layer fraction (by layer name), used for the component holding the layer. */
  overrides: Readonly<Record<string, number>>;
  criterion: Criterion;
  /** Layers whose output channels must stay, with the reason. */
  keep: ReadonlyMap<string, string>;
}

export interface ChannelPlan {
  /** Whether the channel with this global id stays (ids < 0 always do). */
  kept(id: number): boolean;
  /** Output channels kept per space index. */
  keptPerSpace: number[];
  removed: number;
  notes: string[];
}

/** Per-channel importance of a space, before normalization. */
export function channelScores(g: Graph, space: Space, criterion: Criterion, consumers: ReadonlyMap<string, readonly { opType: string; inputs: string[] }[]>): { scores: Float64Array; used: Criterion } {
  const { layer } = space;
  if (criterion === 'bn') {
    const readers = consumers.get(layer.node.outputs[0]!) ?? [];
    const bn = readers.length === 1 && readers[0]!.opType === 'BatchNormalization' ? readers[0]! : undefined;
    const gamma = bn ? g.initializers.get(bn.inputs[1]!) : undefined;
    if (gamma && gamma.size === space.size) return { scores: Float64Array.from(gamma.toFloat32(), Math.abs), used: 'bn' };
    criterion = 'l1';
  }
  const w = layer.weight.toFloat32();
  const dims = layer.weight.dims;
  const axis = layer.layout.outAxis;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const size = dims[axis]!;
  const sums = new Float64Array(size);
  for (let i = 0; i < w.length; i++) {
    const c = Math.floor(i / inner) % size;
    sums[c] = sums[c]! + (criterion === 'l2' ? w[i]! * w[i]! : Math.abs(w[i]!));
  }
  const per = w.length / size;
  return { scores: sums.map((s) => (criterion === 'l2' ? Math.sqrt(s / per) : s / per)), used: criterion };
}

export function planChannels(cg: ChannelGraph, o: ChannelPlanOptions): ChannelPlan {
  const notes: string[] = [];
  for (const s of cg.spaces) {
    const why = o.keep.get(s.layer.name);
    if (why) for (let i = 0; i < s.size; i++) if (!cg.frozen.has(s.offset + i)) cg.frozen.set(s.offset + i, why);
  }
  const frozenRoots = new Set([...cg.frozen.keys()].map((id) => find(cg, id)));
  const { consumers } = cg.graph.index();
  const score = new Float64Array(cg.parent.length);
  let fellBack = false;
  for (const s of cg.spaces) {
    const { scores, used } = channelScores(cg.graph, s, o.criterion, consumers);
    if (used !== o.criterion) fellBack = true;
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    scores.forEach((v, i) => (score[s.offset + i] = mean > 0 ? v / mean : 1));
  }
  if (fellBack) notes.push('criterion bn: layers not followed by a BatchNormalization are ranked by L1 norm');

  // Classes of joined channels, and the components of spaces they link.
  const classes = new Map<number, { ids: number[]; score: number }>();
  for (let id = 0; id < cg.parent.length; id++) {
    const root = find(cg, id);
    if (frozenRoots.has(root)) continue;
    const c = classes.get(root) ?? { ids: [], score: 0 };
    c.ids.push(id);
    c.score += score[id]!;
    classes.set(root, c);
  }
  const spaceParent = cg.spaces.map((_, i) => i);
  const top = (i: number): number => (spaceParent[i] === i ? i : (spaceParent[i] = top(spaceParent[i]!)));
  const spaceOfId = (id: number) => spaceOf(cg, id);
  for (const c of classes.values()) {
    const first = top(spaceOfId(c.ids[0]!).index);
    for (const id of c.ids) spaceParent[top(spaceOfId(id).index)] = first;
  }
  const components = new Map<number, Array<{ root: number; ids: number[]; score: number }>>();
  for (const [root, c] of classes) {
    const comp = top(spaceOfId(c.ids[0]!).index);
    components.set(comp, [...(components.get(comp) ?? []), { root, ...c }]);
  }

  const keptPerSpace = cg.spaces.map((s) => s.size);
  const removedRoots = new Set<number>();
  for (const list of components.values()) {
    const names = new Set(list.flatMap((c) => c.ids.map((id) => spaceOfId(id).layer.name)));
    const given = [...names].map((n) => o.overrides[n]).filter((v): v is number => v !== undefined);
    const fraction = given.length ? Math.min(...given) : o.fraction;
    let toRemove = Math.round(fraction * list.length);
    list.sort((a, b) => a.score - b.score || a.root - b.root);
    for (const c of list) {
      if (toRemove <= 0) break;
      const take = new Map<number, number>();
      for (const id of c.ids) {
        const s = spaceOfId(id).index;
        take.set(s, (take.get(s) ?? 0) + 1);
      }
      if ([...take].some(([s, n]) => keptPerSpace[s]! - n < 1)) continue;
      for (const [s, n] of take) keptPerSpace[s] = keptPerSpace[s]! - n;
      removedRoots.add(c.root);
      toRemove--;
    }
  }
  const removed = cg.spaces.reduce((n, s, i) => n + s.size - keptPerSpace[i]!, 0);
  return { kept: (id) => id < 0 || !removedRoots.has(find(cg, id)), keptPerSpace, removed, notes };
}
