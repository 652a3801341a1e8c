/**
 * Comparing two runs' outputs so that a user can trust the verdict: NaN equals NaN and an
 * infinity equals the same infinity (a model that yields them on random inputs yields them in
 * both versions), integers and booleans must match exactly, strings too; floats within a
 * tolerance relative to the output's magnitude.
 */

export interface OutputComparison {
  output: string;
  /** Largest |a − b| over finite pairs; Infinity when shapes, lengths or kinds differ. */
  maxAbsDiff: number;
  /** Largest finite |a| of the reference, to judge the difference against. */
  maxAbs: number;
  /** Positions where one side is NaN/±Infinity and the other is not the same. */
  mismatchedSpecials: number;
  equal: boolean;
}

type Values = ArrayLike<number | bigint | string | boolean>;

export function compareOutput(output: string, a: Values, b: Values, tolerance = 1e-4): OutputComparison {
  const result: OutputComparison = { output, maxAbsDiff: 0, maxAbs: 0, mismatchedSpecials: 0, equal: true };
  if (a.length !== b.length) return { ...result, maxAbsDiff: Infinity, equal: false };
  let exactDiffers = false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x !== 'number' || typeof y !== 'number') {
      if (x !== y) exactDiffers = true;
      continue;
    }
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) result.mismatchedSpecials++;
      continue;
    }
    result.maxAbs = Math.max(result.maxAbs, Math.abs(x));
    result.maxAbsDiff = Math.max(result.maxAbsDiff, Math.abs(x - y));
  }
  if (exactDiffers) result.maxAbsDiff = Infinity;
  result.equal = !exactDiffers && result.mismatchedSpecials === 0 && result.maxAbsDiff <= tolerance * Math.max(1, result.maxAbs);
  return result;
}
