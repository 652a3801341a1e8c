/**
 * Which data feeds each model input, decided once per data set and model: the data set's
 * array of the input's name; a constant (a 0-d npz array or `--input-value`); zeros for a
 * recurrent state input the model feeds back itself; or, the single-input convention, the
 * one array left (x) for the one input left. Anything else is a one-line InputError naming
 * the input and how to feed it.
 */
import type { ArrayInfo } from '../data/batch.ts';
import { fromHalfBits, toHalf } from '../math/float16.ts';
import type { NpArray, NpDtype } from '../data/npy.ts';
import { InputError } from '../errors.ts';
import { TYPED_ARRAY, isFloatDType, type DType, type NumericDType, type TypedArray } from '../onnx/dtype.ts';
import type { GraphSession, HostTensor, ValueSpec } from './types.ts';

type Shape = readonly (number | string)[];

/** A model input fed from a data-set array; `batched`: the model's axis 0 is the sample axis (else one sample per run). */
export interface ArrayFeed {
  kind: 'array';
  input: string;
  dtype: DType;
  shape: Shape;
  array: string;
  batched: boolean;
}

/** A model input fed the same value every run: a constant, or zeros for a state input. */
export interface FixedFeed {
  kind: 'constant' | 'zeros';
  input: string;
  dtype: DType;
  shape: Shape;
  value: NpArray;
}

export type InputFeed = ArrayFeed | FixedFeed;

export interface FeedPlan {
  feeds: InputFeed[];
  /** Samples per run when the model fixes it: its fixed leading dim, or 1 for inputs without a sample axis. */
  chunk?: number;
}

const shown = (s: Shape) => `[${s.map((d) => (d === '' ? '?' : d)).join(',')}]`;
const isFree = (d: number | string) => typeof d === 'string' || d < 0;

/**
 * The base name shared by a state input and the output that feeds it back: `h0`/`hn`,
 * `state`/`stateN`, `c_in`/`c_out`, `past_h`/`present_h`.
 */
function stateKey(name: string): string {
  const lower = name.toLowerCase();
  const key = lower.replace(/^(input|output|in|out|past|present|prev|next|new|old)[_.]/, '').replace(/[_.]?(input|output|in|out|new|next|prev|old|\d+|n)$/, '');
  // 'input' and 'output' are names of their own, not a shared base '' with affixes.
  return key === '' ? lower : key;
}

/** Inputs an output of the same dtype, shape and base name feeds back: recurrent state (zeros by default). */
export function stateInputs(session: Pick<GraphSession, 'inputs' | 'outputs'>): Set<string> {
  const found = new Set<string>();
  for (const i of session.inputs) {
    if (!i.dtype || !isFloatDType(i.dtype) || !i.shape) continue;
    const key = stateKey(i.name);
    const fedBack = session.outputs.some(
      (o) => o.name !== i.name && stateKey(o.name) === key && o.dtype === i.dtype && o.shape?.length === i.shape!.length &&
        o.shape.every((d, k) => isFree(d) || isFree(i.shape![k]!) || d === i.shape![k]),
    );
    if (fedBack) found.add(i.name);
  }
  return found;
}

function checkArray(where: string, input: ValueSpec, name: string, info: ArrayInfo): ArrayFeed {
  const want = input.shape!;
  const rest = info.shape.slice(1);
  const batched = info.shape.length === want.length;
  const dims = batched ? want.slice(1) : want;
  const fits = (batched || rest.length === want.length) && dims.every((d, i) => isFree(d) || d === rest[i]);
  if (!fits) {
    const perSample = rest.reduce((a, b) => a * b, 1);
    const fixed = want.slice(1).every((d): d is number => typeof d === 'number' && d >= 0);
    const hint = fixed && want.slice(1).reduce<number>((a, b) => a * (b as number), 1) === perSample ? ` (same ${perSample} values per sample: reshape the data set)` : '';
    throw new InputError(`${where}: data set ${name} has shape ${shown(info.shape)} but model input '${input.name}' expects ${shown(want)}${hint}`);
  }
  if (!isFloatDType(input.dtype!) && input.dtype !== info.dtype) {
    throw new InputError(`${where}: data set ${name} is ${info.dtype} but model input '${input.name}' expects ${input.dtype}`);
  }
  return { kind: 'array', input: input.name, dtype: input.dtype!, shape: want, array: name, batched };
}

export function constantFeed(label: string, input: ValueSpec, value: NpArray): FixedFeed {
  const want = input.shape!;
  const fits = value.shape.length === 0 || (value.shape.length === want.length && want.every((d, i) => isFree(d) || d === value.shape[i]));
  if (!fits) throw new InputError(`${label}: the value given for input '${input.name}' has shape ${shown(value.shape)}; the input expects ${shown(want)}`);
  if (!isFloatDType(input.dtype!) && !(input.dtype! in TYPED_ARRAY)) throw new InputError(`${label}: input '${input.name}' is ${input.dtype}; values exist for numeric and bool inputs`);
  if (!isFloatDType(input.dtype!)) {
    const bad = Array.from(value.data as ArrayLike<number | bigint>, Number).find((v) => !Number.isInteger(v));
    if (bad !== undefined) throw new InputError(`${label}: input '${input.name}' is ${input.dtype}; the value given for it holds ${bad}`);
  }
  return { kind: 'constant', input: input.name, dtype: input.dtype!, shape: want, value };
}

/**
 * Plans the feeds of `session` from a data set's per-sample `arrays` and `constants`. `where`
 * names the data set in messages.
 */
export function planDataFeeds(session: Pick<GraphSession, 'label' | 'inputs' | 'outputs'>, arrays: Readonly<Record<string, ArrayInfo>>, constants: Readonly<Record<string, NpArray>>, where: string): FeedPlan {
  const label = session.label;
  for (const i of session.inputs) if (!i.dtype || !i.shape) throw new InputError(`${label}: input "${i.name}" is not a tensor; a data set cannot feed it`);
  const feeds = new Map<string, InputFeed>();
  const unused = new Set(Object.keys(arrays));
  for (const i of session.inputs) {
    if (i.name in arrays && i.name in constants) throw new InputError(`${where}: input '${i.name}' is given twice, by the data set and by --input-value`);
    if (i.name in arrays) {
      feeds.set(i.name, checkArray(where, i, i.name, arrays[i.name]!));
      unused.delete(i.name);
    } else if (i.name in constants) feeds.set(i.name, constantFeed(label, i, constants[i.name]!));
  }
  const open = () => session.inputs.filter((i) => !feeds.has(i.name));
  const states = stateInputs(session);
  const conventional = open().filter((i) => !states.has(i.name));
  const single = conventional.length === 1 ? conventional : open();
  if (single.length === 1 && unused.size === 1) {
    const [name] = unused;
    feeds.set(single[0]!.name, checkArray(where, single[0]!, name!, arrays[name!]!));
    unused.clear();
  }
  for (const i of open()) {
    if (!states.has(i.name)) {
      throw new InputError(`${label}: input "${i.name}" ${i.dtype} ${shown(i.shape!)} has no data: name an array "${i.name}" in the data set, or give --input-value ${i.name}=VALUE|file.npy`);
    }
    feeds.set(i.name, { kind: 'zeros', input: i.name, dtype: i.dtype!, shape: i.shape!, value: { dtype: 'float32', shape: [], data: new Float32Array(1) } });
  }
  if (unused.size) throw new InputError(`${where}: data set array${unused.size > 1 ? 's' : ''} ${[...unused].join(', ')} match${unused.size > 1 ? '' : 'es'} no input of ${label} (inputs: ${session.inputs.map((i) => i.name).join(', ')})`);
  const plan = session.inputs.map((i) => feeds.get(i.name)!);
  const arrayFeeds = plan.filter((f): f is ArrayFeed => f.kind === 'array');
  if (arrayFeeds.length === 0) throw new InputError(`${where}: no model input of ${label} takes a data-set array`);
  const fixed = arrayFeeds.map((f) => f.shape[0]).find((d): d is number => typeof d === 'number' && d > 0);
  const chunk = arrayFeeds.some((f) => !f.batched) ? 1 : fixed;
  return { feeds: plan, ...(chunk !== undefined && { chunk }) };
}

/** `data` (stored as `from`) as a typed array of the model's dtype; 16-bit floats as their bits. */
export function castTo(dtype: DType, data: TypedArray, from: NpDtype): TypedArray {
  if (dtype === from) return data;
  const numbers: ArrayLike<number> = from === 'float16' ? Float32Array.from(data as Uint16Array, fromHalfBits) : data instanceof BigInt64Array || data instanceof BigUint64Array ? Float32Array.from(data, Number) : (data as ArrayLike<number>);
  if (dtype === 'float16') return toHalf(numbers);
  const Ctor = TYPED_ARRAY[dtype as NumericDType];
  if (!Ctor) throw new InputError(`cannot feed ${from} values to a ${dtype} input`);
  if (dtype === 'int64' || dtype === 'uint64') return (Ctor as BigInt64ArrayConstructor).from(Array.from(numbers), (v) => BigInt(Math.trunc(v)));
  return (Ctor as Float32ArrayConstructor).from(numbers);
}

/**
 * A fixed feed for one run: a 0-d value fills the input's shape, whose free dims take the
 * sizes the array-fed inputs bind them to (`bound`); the leading one, or the only one left
 * (a state's [2, ?, 128]: its batch), the run's sample count.
 */
export function fixedTensor(label: string, f: FixedFeed, rows: number, bound: ReadonlyMap<string, number>): HostTensor {
  const fill = f.value.shape.length === 0 && f.shape.length > 0;
  const sizeOf = (d: number | string) => (typeof d === 'string' && d !== '' ? bound.get(d) : undefined);
  const open = f.shape.filter((d) => isFree(d) && sizeOf(d) === undefined).length;
  const dims = fill
    ? f.shape.map((d, axis) => {
        if (!isFree(d)) return d as number;
        const size = sizeOf(d);
        if (size !== undefined) return size;
        if (axis === 0 || open === 1) return rows;
        throw new InputError(`${label}: input "${f.input}" has a free dim at axis ${axis} that no data input fixes; give the whole value: --input-value ${f.input}=file.npy`);
      })
    : f.value.shape;
  const count = dims.reduce((a, b) => a * b, 1);
  const one = castTo(f.dtype, f.value.data, f.value.dtype);
  if (!fill) return { dtype: f.dtype, dims, data: one };
  const data = new (one.constructor as new (n: number) => TypedArray)(count);
  (data as { fill(v: unknown): void }).fill(one[0]);
  return { dtype: f.dtype, dims, data };
}
