/** Fuzz cases as data: which seed model, which mutations — generated from (seed, index) alone. */
import { mulberry32 } from '../../src/math/random.ts';
import { BYTE_KINDS, TREE_KINDS, applyAll, type Mutation } from './mutators.ts';

export interface FuzzCase {
  index: number;
  model: string;
  mutations: Mutation[];
}

/** Case `index` of the run with `seed`: 1–3 mutations, byte-level (40%) or structural (60%). */
export function makeCase(seed: number, index: number, models: readonly string[]): FuzzCase {
  const r = mulberry32((seed * 1_000_003 + index) >>> 0);
  const kinds = r() < 0.4 ? BYTE_KINDS : TREE_KINDS;
  const count = 1 + Math.floor(r() * 3);
  const mutations = Array.from({ length: count }, () => ({ kind: kinds[Math.floor(r() * kinds.length)]!, seed: Math.floor(r() * 2 ** 32) }));
  return { index, model: models[Math.floor(r() * models.length)]!, mutations };
}

export function caseBytes(c: FuzzCase, seeds: ReadonlyMap<string, Uint8Array>): Uint8Array {
  return applyAll(seeds.get(c.model)!, c.mutations);
}
