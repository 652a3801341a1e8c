/** Spatial attributes shared by convolutions and pools: kernel, strides, dilations, pads. */
import { samePads } from '../../ops/shape-math.ts';
import type { Node } from '../../ir/node.ts';

export interface Spatial {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** [top, bottom, left, right]. */
  pads: [number, number, number, number];
}

const pair = (v: number[] | undefined, fallback: number, rank: number): [number, number] => {
  if (!v) return [fallback, fallback];
  return rank === 1 ? [1, v[0]!] : [v[0]!, v[1]!];
};

/**
 * Resolves the attributes for an input of spatial size [h, w] (a 1-D op is run as 2-D with
 * h = 1). `auto_pad` SAME_* puts the odd pixel at the end (UPPER) or start (LOWER).
 */
export function spatialAttrs(node: Node, rank: 1 | 2, h: number, w: number, kernel: [number, number]): Spatial {
  const strides = pair(node.getInts('strides'), 1, rank);
  const dilations = pair(node.getInts('dilations'), 1, rank);
  const autoPad = node.getString('auto_pad', 'NOTSET');
  let pads: [number, number, number, number];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const lower = autoPad === 'SAME_LOWER';
    const [top, bottom] = samePads(h, kernel[0], strides[0], dilations[0], lower);
    const [left, right] = samePads(w, kernel[1], strides[1], dilations[1], lower);
    pads = [top, bottom, left, right];
  } else if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
  } else {
    const p = node.getInts('pads');
    pads = !p ? [0, 0, 0, 0] : rank === 1 ? [0, 0, p[0]!, p[1]!] : [p[0]!, p[2]!, p[1]!, p[3]!];
  }
  return { kernel, strides, dilations, pads };
}

/** Spatial rank of a node's input (1 or 2), or a reason it is not supported. */
export function spatialRank(inputRank: number): 1 | 2 | undefined {
  return inputRank === 3 ? 1 : inputRank === 4 ? 2 : undefined;
}

/** Checks shared by conv and pool nodes before anything runs. */
export function checkSpatial(node: Node): string | undefined {
  const k = node.getInts('kernel_shape');
  if (k && k.length > 2) return `${k.length}-D ${node.opType} is not supported (1-D and 2-D are)`;
  return undefined;
}
