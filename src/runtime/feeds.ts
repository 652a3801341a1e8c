/**
 * Seeded random inputs shaped from a session's input specs: what latency timing, runtime
 * checks and verification feed when no data set is given.
 */
import { InputError } from '../errors.ts';
import { toHalfBits } from '../math/float16.ts';
import type { GraphSession, HostTensor, ValueSpec } from './types.ts';

/** How to push `batch` samples through the model: `calls` runs of `feeds`. */
export interface Plan {
  feeds: Record<string, HostTensor>;
  calls: number;
}

/**
 * Random feeds for every input. The leading dim, when symbolic, is the batch dim: its name
 * (wherever it appears) binds to `batch`. When every input's leading dim is fixed to k, the
 * batch needs ceil(batch / k) calls; inputs without a leading dim (scalars) need one per sample.
 */
export function planFeeds(session: Pick<GraphSession, 'label' | 'inputs'>, batch: number, rng: () => number, dims: Readonly<Record<string, number>> = {}): Plan {
  let batchName: string | undefined;
  let fixed: number | undefined;
  let dynamic = false;
  for (const m of session.inputs) {
    if (!m.dtype || !m.shape) throw new InputError(`${session.label}: input "${m.name}" is not a tensor; cannot make a random value for it`);
    const d = m.shape[0];
    if (typeof d === 'string') {
      dynamic = true;
      if (d !== '') batchName ??= d;
    } else if (typeof d === 'number') fixed ??= d;
  }
  const rows = dynamic ? batch : (fixed ?? 1);
  const calls = dynamic ? 1 : Math.ceil(batch / Math.max(rows, 1));
  const feeds: Record<string, HostTensor> = {};
  for (const m of session.inputs) {
    const shape = m.shape!.map((d, axis) => {
      if (typeof d === 'number') return d;
      if (axis === 0 || (d !== '' && d === batchName)) return rows;
      if (d !== '' && dims[d] !== undefined) return dims[d];
      const what = d !== '' ? `symbolic dim "${d}"` : 'an unnamed dynamic dim';
      throw new InputError(`${session.label}: input "${m.name}" has ${what} at axis ${axis}; give its size`);
    });
    feeds[m.name] = randomTensor(session.label, m, shape, rng);
  }
  return { feeds, calls };
}

function randomTensor(label: string, m: ValueSpec, dims: number[], rng: () => number): HostTensor {
  const size = dims.reduce((a, b) => a * b, 1);
  const tensor = (data: HostTensor['data']): HostTensor => ({ dtype: m.dtype!, dims, data });
  switch (m.dtype) {
    case 'float32':
      return tensor(Float32Array.from({ length: size }, () => rng() * 2 - 1));
    case 'float16':
      return tensor(Uint16Array.from({ length: size }, () => toHalfBits(rng() * 2 - 1)));
    case 'uint8':
      return tensor(Uint8Array.from({ length: size }, () => Math.floor(rng() * 256)));
    // Integer inputs are usually indices or token ids: 0 and 1 are valid for any table.
    case 'int32':
      return tensor(Int32Array.from({ length: size }, () => (rng() < 0.5 ? 0 : 1)));
    case 'int64':
      return tensor(BigInt64Array.from({ length: size }, () => (rng() < 0.5 ? 0n : 1n)));
    default:
      throw new InputError(`${label}: input "${m.name}" is ${m.dtype}; random inputs exist for float32, float16, uint8, int32 and int64`);
  }
}
