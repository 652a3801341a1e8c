/**
 * Mutations of ONNX model bytes, each a pure function of (bytes, seed) so a case replays
 * exactly and a reproducer can be minimised by dropping mutations. Byte-level mutators
 * damage the encoding (what a cut download or a bad disk does); structural ones keep
 * protobuf well-formed and change one value deep in the model (what a buggy exporter does),
 * so the model reaches validation and the passes.
 */
import { mulberry32 } from '../../src/math/random.ts';
import { Model as ModelDesc } from '../../src/onnx/schema.ts';
import { allFields, cloneTree, encodeTree, parseTree, type Field } from './proto-tree.ts';

export interface Mutation {
  kind: MutationKind;
  seed: number;
}

type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rng, n: number) => Math.floor(r() * n);

/** Values that break assumptions: zero, signs, 32/53/64-bit edges. */
const INTERESTING = [0n, 1n, 2n, 3n, 7n, 255n, -1n, -3n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 40n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n];

const byteMutators = {
  /** 1–4 random bytes set to random values. */
  'byte-flip': (b: Uint8Array, r: Rng) => {
    const out = b.slice();
    for (let k = 1 + int(r, 4); k > 0; k--) out[int(r, out.length)] = int(r, 256);
    return out;
  },
  /** The file cut short (a partial download). */
  'byte-truncate': (b: Uint8Array, r: Rng) => b.slice(0, int(r, b.length)),
  /** A range removed. */
  'byte-delete': (b: Uint8Array, r: Rng) => {
    const at = int(r, b.length);
    return Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + 1 + int(r, 64)))]);
  },
  /** Random bytes or 0xff runs inserted (overlong varints). */
  'byte-insert': (b: Uint8Array, r: Rng) => {
    const at = int(r, b.length + 1);
    const ins = r() < 0.5 ? Array.from({ length: 1 + int(r, 16) }, () => int(r, 256)) : new Array(1 + int(r, 12)).fill(0xff);
    return Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
  },
  /** A range copied over another place (duplicated structure at a wrong offset). */
  'byte-splice': (b: Uint8Array, r: Rng) => {
    const out = b.slice();
    const from = int(r, b.length);
    const to = int(r, b.length);
    const piece = b.subarray(from, Math.min(b.length, from + 1 + int(r, 128)));
    out.set(piece.subarray(0, out.length - to), to);
    return out;
  },
};

/** Structural mutators: given the parsed tree, change it in place. */
const treeMutators: Record<string, (tree: Field[], r: Rng) => void> = {
  /** Any varint (dims, data_type, ir_version, attribute ints, dim_value, opset version) set to an edge value. */
  'tree-varint': (tree, r) => {
    const vs = allFields(tree).filter(({ field }) => field.wt === 0);
    if (vs.length) pick(r, vs).field.value = BigInt.asUintN(64, pick(r, INTERESTING));
  },
  /** Element types: data_type or elem_type set to any code, known or not. */
  'tree-dtype': (tree, r) => {
    const vs = allFields(tree).filter(({ field }) => /(data_type|elem_type)$/.test(field.path));
    if (vs.length) pick(r, vs).field.value = BigInt(int(r, 26));
  },
  /** A field removed (a node's input, a tensor's dims, the graph name, an initializer …). */
  'tree-drop': (tree, r) => {
    const all = allFields(tree);
    const { field, siblings } = pick(r, all);
    siblings.splice(siblings.indexOf(field), 1);
  },
  /** A field duplicated next to itself (two names, two data fields, a node twice). */
  'tree-dup': (tree, r) => {
    const { field, siblings } = pick(r, allFields(tree));
    siblings.splice(siblings.indexOf(field), 0, cloneTree([field])[0]!);
  },
  /** A string set to '', to another name used in the model (rewiring: cycles, redefinitions), or odd text. */
  'tree-string': (tree, r) => {
    const strings = allFields(tree).filter(({ field }) => field.kind === 'string' && field.value instanceof Uint8Array);
    if (!strings.length) return;
    const names = strings.map(({ field }) => field.value as Uint8Array);
    const odd = ['', 'x', 'y', '\n', 'é\u0000', 'a'.repeat(300)].map((s) => new TextEncoder().encode(s));
    pick(r, strings).field.value = r() < 0.6 ? pick(r, names) : pick(r, odd);
  },
  /** A payload (raw_data, float_data, a string, an attribute) shortened or lengthened. */
  'tree-payload': (tree, r) => {
    const bs = allFields(tree).filter(({ field }) => field.wt === 2 && !Array.isArray(field.value));
    if (!bs.length) return;
    const { field } = pick(r, bs);
    const b = field.value as Uint8Array;
    field.value = r() < 0.5 ? b.slice(0, int(r, b.length + 1)) : Uint8Array.from([...b, ...Array.from({ length: 1 + int(r, 16) }, () => int(r, 256))]);
  },
  /** Two sibling fields swapped (node order: uses before definitions). */
  'tree-swap': (tree, r) => {
    const lists = allFields(tree).map(({ siblings }) => siblings).filter((s) => s.length > 1);
    if (!lists.length) return;
    const s = pick(r, lists);
    const [i, j] = [int(r, s.length), int(r, s.length)];
    [s[i], s[j]] = [s[j]!, s[i]!];
  },
};

export type MutationKind = keyof typeof byteMutators | keyof typeof treeMutators;
export const BYTE_KINDS = Object.keys(byteMutators) as MutationKind[];
export const TREE_KINDS = Object.keys(treeMutators) as MutationKind[];

export function applyMutation(bytes: Uint8Array, m: Mutation): Uint8Array {
  const r = mulberry32(m.seed);
  if (m.kind in byteMutators) return bytes.length ? byteMutators[m.kind as keyof typeof byteMutators](bytes, r) : bytes;
  let tree: Field[];
  try {
    tree = parseTree(bytes, ModelDesc);
  } catch {
    return bytes; // already broken by an earlier byte mutation: nothing structural to change
  }
  treeMutators[m.kind]!(tree, r);
  return encodeTree(tree);
}

export function applyAll(bytes: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  return ms.reduce(applyMutation, bytes);
}
