/** ONNX explicit pads → TFLite SAME/VALID, or an explicit PAD before a VALID op. */
import type { Node } from '../../ir/node.ts';

export const SAME = 0;
export const VALID = 1;

export interface Padding {
  /** SAME or VALID. */
  mode: number;
  /** [top, left, bottom, right] still to pad explicitly (VALID after a PAD), or undefined. */
  explicit?: [number, number, number, number];
}

function samePads(size: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max(0, (out - 1) * s + (k - 1) * d + 1 - size);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Padding for a 2-D window op on an input of spatial size [h, w]. */
export function windowPadding(node: Node, hw: [number, number], kernel: [number, number]): Padding | string {
  const strides = node.getInts('strides') ?? [1, 1];
  const dilations = node.getInts('dilations') ?? [1, 1];
  const autoPad = node.getString('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') return { mode: VALID };
  if (autoPad === 'SAME_UPPER') return { mode: SAME };
  if (autoPad === 'SAME_LOWER') {
    const odd = [0, 1].some((i) => {
      const [b, e] = samePads(hw[i]!, kernel[i]!, strides[i]!, dilations[i]!);
      return b !== e;
    });
    return odd ? 'auto_pad SAME_LOWER with uneven padding' : { mode: SAME };
  }
  const pads = node.getInts('pads') ?? [0, 0, 0, 0];
  if (pads.every((p) => p === 0)) return { mode: VALID };
  const same = [0, 1].map((i) => samePads(hw[i]!, kernel[i]!, strides[i]!, dilations[i]!));
  if (same[0]![0] === pads[0] && same[1]![0] === pads[1] && same[0]![1] === pads[2] && same[1]![1] === pads[3]) return { mode: SAME };
  return { mode: VALID, explicit: [pads[0]!, pads[1]!, pads[2]!, pads[3]!] };
}
