/**
 * Weight quantization for the static emitters: per-channel symmetric int8 codes for each
 * weight tensor, computed once and shared by every variant fallback builds.
 */
import type { Tensor } from '../../ir/tensor.ts';
import { quantizePerChannelSymmetric, quantizePerTensorSymmetric } from '../scales.ts';

export interface QuantWeight {
  values: Int8Array;
  /** One scale per channel along `axis`, or a single scale. */
  scales: Float32Array;
  dims: number[];
  axis: number | undefined;
}

export class WeightQuantizer {
  private readonly cache = new Map<string, QuantWeight>();
  /** Source weights quantized so far (for the report). */
  readonly sources = new Set<string>();

  constructor(private readonly consts: ReadonlyMap<string, Tensor>) {}

  tensor(name: string): Tensor {
    const t = this.consts.get(name);
    if (!t) throw new Error(`'${name}' is not a constant`);
    return t;
  }

  /** Float values of a constant, times `factor` (Gemm alpha/beta folding). */
  values(name: string, factor = 1): Float32Array {
    const v = this.tensor(name).toFloat32();
    return factor === 1 ? v : v.map((x) => x * factor);
  }

  /** Int8 codes of `factor × weight`, symmetric, per channel along `axis` (undefined: per tensor). */
  weight(name: string, axis: number | undefined, factor = 1): QuantWeight {
    const key = `${name}\u0000${axis ?? ''}\u0000${factor}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const t = this.tensor(name);
    const data = this.values(name, factor);
    let q: QuantWeight;
    if (axis === undefined) {
      const { scale, values } = quantizePerTensorSymmetric(data);
      q = { values, scales: Float32Array.of(scale), dims: [...t.dims], axis };
    } else {
      const { scales, values } = quantizePerChannelSymmetric(data, t.dims, axis);
      q = { values, scales, dims: [...t.dims], axis };
    }
    this.cache.set(key, q);
    this.sources.add(name);
    return q;
  }
}
