/**
 * How a channel axis moves through ops that rearrange axes. A channel map gives, for each
 * position along one axis of a value, the global id of the channel it holds (−1: a
 * position no pruned layer owns). These helpers carry a map through Reshape/Flatten,
 * Transpose, Squeeze and Unsqueeze, or say why they cannot (the caller names the node).
 */
import type { Dim } from '../ir/value.ts';

export interface ChannelMap {
  axis: number;
  ids: Int32Array;
}

/** Either the moved map or the reason it cannot be moved. */
export type Moved = { map: ChannelMap } | { reason: string };

const known = (d: Dim): d is number => typeof d === 'number';

/**
 * A Reshape target computed at run time (its values propagated by shape inference) as the
 * literals that compute the same shape: sizes as they are, a free dim copied from the same
 * input axis as 0, one other free or unknown size as −1 (the reshape is valid, so −1 infers
 * that very size). Undefined when that is not possible.
 */
export function literalTarget(values: readonly Dim[] | undefined, input: readonly Dim[], allowZero: boolean): number[] | undefined {
  if (!values) return undefined;
  let inferred = values.includes(-1);
  const out: number[] = [];
  for (const [i, d] of values.entries()) {
    if (known(d)) out.push(d);
    else if (typeof d === 'string' && !allowZero && input[i] === d) out.push(0);
    else if (!inferred) {
      out.push(-1);
      inferred = true;
    } else return undefined;
  }
  return out;
}

/**
 * Moves a map through a row-major reshape from `input` to `output` dims. Axes are grouped
 * from the right by equal products (trailing elements keep their flat order); the group
 * holding the channel axis must become one output axis (channels merged with the axes
 * beside them, as Flatten does: each channel owns a block or a stride of features), or the
 * channel axis must survive whole next to size-1 axes. A free dim both sides share at the
 * same place from the right (a sequence length) is a group of its own; axes unchanged from the
 * left up to the channel axis keep it in place whatever the sizes after it. Anything else splits the channel
 * axis, and is refused.
 */
export function reshapeMap(input: readonly Dim[], output: readonly Dim[], map: ChannelMap): Moved & { outAxis?: number } {
  const a = map.axis;
  // Leading axes whose sizes are known up past the channel axis ([N,4,3,?] → [N,12,?]): what follows
  // has the same size on both sides, so the reshape of those leading axes alone decides.
  const prefix = knownPrefix(input, output, a);
  if (prefix && (prefix.i < input.length - 1 || prefix.j < output.length - 1)) {
    const [inHead, outHead] = [input.slice(0, prefix.i + 1), output.slice(0, prefix.j + 1)];
    const moved = reshapeMap(inHead, outHead, map);
    // Reasons name the whole reshape.
    return 'reason' in moved ? { reason: moved.reason.replace(`${fmt(inHead)} → ${fmt(outHead)}`, `${fmt(input)} → ${fmt(output)}`) } : moved;
  }
  let i = input.length - 1;
  let j = output.length - 1;
  while (i >= a) {
    // Size-1 axes form groups of their own.
    if (input[i] === 1 && i !== a) {
      i--;
      continue;
    }
    if (output[j] === 1 && !(input[i] === 1 && i === a)) {
      j--;
      continue;
    }
    // The same free dim on both sides (a free sequence length) is a group of its own.
    if (i !== a && typeof input[i] === 'string' && input[i] === output[j]) {
      i--;
      j--;
      continue;
    }
    if (!known(input[i]) || !known(output[j])) return { reason: `the size of the axes around the channel axis is not known (${fmt(input)} → ${fmt(output)})` };
    const start = { i, j };
    let pi = input[i] as number;
    let po = output[j] as number;
    while (pi !== po) {
      if (pi < po) {
        i--;
        if (i < 0 || !known(input[i])) return { reason: `the reshape ${fmt(input)} → ${fmt(output)} does not group the channel axis with known sizes` };
        pi *= input[i] as number;
      } else {
        j--;
        if (j < 0 || !known(output[j])) return { reason: `the reshape ${fmt(input)} → ${fmt(output)} does not group the channel axis with known sizes` };
        po *= output[j] as number;
      }
    }
    if (i <= a) {
      // The group [i..start.i] holds the channel axis; it maps to output axes [j..start.j].
      if (start.j === j) {
        const inner = (input.slice(a + 1, start.i + 1) as number[]).reduce((x, y) => x * y, 1);
        const size = input[a] as number;
        if (size !== map.ids.length) return { reason: `the channel axis has ${size} positions, the map ${map.ids.length}` };
        const ids = new Int32Array(po);
        for (let q = 0; q < po; q++) ids[q] = map.ids[Math.floor(q / inner) % size]!;
        return { map: { axis: j, ids }, outAxis: j };
      }
      const outs = output.slice(j, start.j + 1);
      if (i === start.i && outs.filter((d) => d !== 1).length === 1) {
        const k = j + outs.findIndex((d) => d !== 1);
        return { map: { axis: k, ids: map.ids }, outAxis: k };
      }
      return { reason: `the reshape ${fmt(input)} → ${fmt(output)} splits the channel axis (${input[a]} channels)` };
    }
    i--;
    j--;
  }
  return { reason: `the reshape ${fmt(input)} → ${fmt(output)} cannot be followed` };
}

/**
 * The shortest leading axes of input (through the channel axis `a`) and output with equal
 * products: equal free dims in front, then known sizes. Undefined when unknown sizes come first.
 */
function knownPrefix(input: readonly Dim[], output: readonly Dim[], a: number): { i: number; j: number } | undefined {
  let k = 0;
  while (k < a && typeof input[k] === 'string' && input[k] === output[k]) k++;
  let [i, j, pi, po] = [k - 1, k - 1, 1, 1];
  while (i < a || pi !== po) {
    if (pi <= po || i < a) {
      i++;
      if (!known(input[i])) return undefined;
      pi *= input[i] as number;
    } else {
      j++;
      if (!known(output[j])) return undefined;
      po *= output[j] as number;
    }
  }
  return { i, j };
}

/** Flatten(axis) as the reshape it is. */
export function flattenDims(input: readonly Dim[], axis: number): Dim[] {
  const prod = (ds: readonly Dim[]): Dim => (ds.every(known) ? (ds as number[]).reduce((x, y) => x * y, 1) : undefined);
  return [prod(input.slice(0, axis)), prod(input.slice(axis))];
}

export function transposeMap(map: ChannelMap, perm: readonly number[]): ChannelMap {
  return { axis: perm.indexOf(map.axis), ids: map.ids };
}

/** Squeeze of `axes` (normalized); undefined if the channel axis itself is squeezed. */
export function squeezeMap(map: ChannelMap, axes: readonly number[]): ChannelMap | undefined {
  if (axes.includes(map.axis)) return undefined;
  return { axis: map.axis - axes.filter((x) => x < map.axis).length, ids: map.ids };
}

/** Unsqueeze inserting `axes` (normalized to the output rank). */
export function unsqueezeMap(map: ChannelMap, axes: readonly number[], outRank: number): ChannelMap {
  let from = 0;
  for (let k = 0; k < outRank; k++) {
    if (axes.includes(k)) continue;
    if (from === map.axis) return { axis: k, ids: map.ids };
    from++;
  }
  return map;
}

function fmt(d: readonly Dim[]): string {
  return `[${d.map((x) => x ?? '?').join(',')}]`;
}
