/** Output agreement of two runs on the same feeds, for the corpus benchmarks. */
import { sqnrDb } from '../../../src/math/sqnr.ts';
import type { HostTensor } from '../../../src/runtime/types.ts';

function flat(t: HostTensor): Float64Array {
  return Float64Array.from(t.data as ArrayLike<number>, Number);
}

/** Worst (lowest) cosine and SQNR over the outputs, on the same feeds. */
export function compare(ref: Record<string, HostTensor>[], got: Record<string, HostTensor>[]): { cosine: number; sqnr: number } {
  let cosine = Infinity;
  let sqnr = Infinity;
  for (const name of Object.keys(ref[0]!)) {
    let dot = 0, na = 0, nb = 0, noise = 0;
    for (let k = 0; k < ref.length; k++) {
      const a = flat(ref[k]![name]!);
      const b = got[k]![name] ? flat(got[k]![name]!) : new Float64Array(a.length);
      for (let i = 0; i < a.length; i++) {
        dot += a[i]! * (b[i] ?? 0);
        na += a[i]! ** 2;
        nb += (b[i] ?? 0) ** 2;
        noise += (a[i]! - (b[i] ?? 0)) ** 2;
      }
    }
    cosine = Math.min(cosine, na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb));
    sqnr = Math.min(sqnr, sqnrDb(na, noise));
  }
  return { cosine, sqnr };
}
