/** Pure shape arithmetic used by the op table's inference functions. */
import type { Dim } from '../ir/value.ts';

const known = (d: Dim): d is number => typeof d === 'number';

export function broadcast(a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  if (!a || !b) return undefined;
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    // A missing leading axis broadcasts like 1; an unknown dimension (undefined) does not.
    const x = i < n - a.length ? 1 : a[a.length - n + i];
    const y = i < n - b.length ? 1 : b[b.length - n + i];
    if (x === 1) out.push(y);
    else if (y === 1 || x === y) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') {
      throw new RangeError(`shapes cannot broadcast: dimension ${x} vs ${y}`);
    } else out.push(typeof x === 'number' ? x : typeof y === 'number' ? y : (x ?? y));
  }
  return out;
}

/**
 * Resolves a Reshape target (with 0 = copy and −1 = infer) against the input dims. Symbolic
 * dims that appear on both sides cancel, so [N,16,5,5] → [0,−1] gives [N,400].
 */
export function resolveReshape(input: readonly Dim[], target: readonly Dim[], allowZero: boolean): Dim[] {
  const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? input[i] : d === -1 ? undefined : d));
  const infer = target.indexOf(-1);
  if (infer < 0) return out;
  let num = 1;
  const symbols: string[] = [];
  for (const d of input) {
    if (known(d)) num *= d;
    else if (typeof d === 'string') symbols.push(d);
    else return out;
  }
  for (const [i, d] of out.entries()) {
    if (i === infer) continue;
    if (known(d)) num /= d;
    else if (typeof d === 'string' && symbols.includes(d)) symbols.splice(symbols.indexOf(d), 1);
    else return out;
  }
  if (symbols.length === 0 && Number.isInteger(num)) out[infer] = num;
  else if (symbols.length === 1 && num === 1) out[infer] = symbols[0];
  return out;
}

export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new RangeError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function product(dims: readonly Dim[]): Dim {
  let n = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

/** Output size of a sliding window along one spatial axis (conv and pooling). */
export function windowOutput(size: Dim, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number, ceil = false): Dim {
  if (typeof size !== 'number') return undefined;
  const span = (kernel - 1) * dilation + 1;
  const round = ceil ? Math.ceil : Math.floor;
  return round((size + padBegin + padEnd - span) / stride) + 1;
}

/** Padding for auto_pad SAME_UPPER / SAME_LOWER: output = ceil(input / stride). */
export function samePads(size: Dim, kernel: number, stride: number, dilation: number, lower: boolean): [number, number] {
  if (typeof size !== 'number') return [0, 0];
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - size);
  const small = Math.floor(total / 2);
  return lower ? [total - small, small] : [small, total - small];
}
