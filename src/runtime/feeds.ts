/**
 * Seeded random inputs shaped from a session's input specs: what latency timing, runtime
 * checks and verification feed when no data set is given.
 */
import { InputError } from '../errors.ts';
import type { InputPlan, InputRole } from '../check/input-roles.ts';
import { toHalfBits } from '../math/float16.ts';
import { TYPED_ARRAY, isFloatDType, type DType, type NumericDType } from '../onnx/dtype.ts';
import { concreteShape, type InputShapes } from './shapes.ts';
import type { GraphSession, HostTensor } from './types.ts';
import type { InputValues } from '../data/input-values.ts';
import { constantFeed, fixedTensor } from './data-feeds.ts';

/** How to push `batch` samples through the model: `calls` runs of `feeds`. */
export interface Plan {
  feeds: Record<string, HostTensor>;
  calls: number;
}

/**
 * Random feeds for every input. The leading dim, when symbolic, is the batch dim: its name
 * (wherever it appears) binds to `batch`. When every input's leading dim is fixed to k, the
 * batch needs ceil(batch / k) calls; inputs without a leading dim (scalars) need one per sample.
 * `roles` (by input name, from src/check/input-roles.ts) keeps index and integer inputs valid;
 * an input without one gets the default role of its dtype. `shapes` sizes the other free dims.
 */
export function planFeeds(
  session: Pick<GraphSession, 'label' | 'inputs'>,
  batch: number,
  rng: () => number,
  shapes: InputShapes = {},
  roles: Readonly<Record<string, InputRole>> = {},
  values: InputValues = {},
): Plan {
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
    const shape = concreteShape(session.label, m.name, m.shape!, rows, shapes, batchName);
    const dtype = m.dtype!; // checked above
    feeds[m.name] = roleTensor(session.label, { name: m.name, dtype, shape, role: roles[m.name] ?? defaultRole(dtype) }, shape, rng);
  }
  // Given values replace random ones, shaped as those were (the same free dims, the same batch).
  const bound = new Map(session.inputs.flatMap((m) => m.shape!.flatMap((d, axis) => (typeof d === 'string' && d !== '' ? [[d, feeds[m.name]!.dims[axis]!] as const] : []))));
  for (const m of session.inputs) if (m.name in values) feeds[m.name] = fixedTensor(session.label, constantFeed(session.label, m, values[m.name]!), rows, bound);
  for (const name of Object.keys(values)) if (!session.inputs.some((m) => m.name === name)) throw new InputError(`--input-value ${name}: ${session.label} has no input of that name (inputs: ${session.inputs.map((m) => m.name).join(', ')})`);
  return { feeds, calls };
}

/**
 * The role a plain random feed gives each dtype: reals in [-1, 1), any uint8 byte, and 0 or 1
 * for other integers (usually indices or token ids: 0 and 1 are valid for any table).
 */
function defaultRole(dtype: DType): InputRole {
  if (dtype === 'float32' || dtype === 'float16' || dtype === 'float64') return { kind: 'real', min: -1, max: 1 };
  if (dtype === 'bool') return { kind: 'bool' };
  if (dtype === 'uint8') return { kind: 'integer', min: 0, max: 255 };
  // bfloat16, complex, string …: no random values; roleTensor refuses them by name.
  return dtype in TYPED_ARRAY && !isFloatDType(dtype) ? { kind: 'integer', min: 0, max: 1 } : { kind: 'string' };
}

function roleTensor(label: string, p: InputPlan, dims: number[], rng: () => number): HostTensor {
  const size = dims.reduce((a, b) => a * b, 1);
  const Ctor = TYPED_ARRAY[p.dtype as NumericDType];
  if (!Ctor || p.role.kind === 'string') throw new InputError(`${label}: input "${p.name}" is ${p.dtype}; random inputs exist for numeric and bool tensors`);
  const role = p.role;
  const draw = (): number => {
    switch (role.kind) {
      case 'bool':
        return rng() < 0.5 ? 0 : 1;
      case 'index':
        return Math.floor(rng() * role.bound);
      case 'integer':
        return role.min + Math.floor(rng() * (role.max - role.min + 1));
      default:
        return role.min + rng() * (role.max - role.min);
    }
  };
  const values = Array.from({ length: size }, draw);
  const data = p.dtype === 'float16' ? Uint16Array.from(values, toHalfBits)
    : p.dtype === 'int64' || p.dtype === 'uint64' ? (Ctor as BigInt64ArrayConstructor).from(values, (v) => BigInt(v))
    : (Ctor as Float32ArrayConstructor).from(values);
  return { dtype: p.dtype, dims, data: data as HostTensor['data'] };
}
