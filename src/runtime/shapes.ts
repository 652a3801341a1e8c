/**
 * Concrete sizes for an input's free dims, given by the user (`--input-shape NAME:D1,D2,…`,
 * `--dim SYMBOL=VALUE`) or taken from a data set. Random feeds (latency, runtime checks,
 * verification) need every dim concrete; a dim nobody sized is an InputError that names the
 * flag to give, which a step that only measures (latency) turns into a note.
 */
import { InputError, ShapeUnknownError } from '../errors.ts';
import type { Dataset } from '../data/batch.ts';
import type { Model } from '../ir/model.ts';
import type { Dim } from '../ir/value.ts';
import type { InputValues } from '../data/input-values.ts';

export interface InputShapes {
  /** Whole shapes by input name. A free leading (batch) dim still takes the batch being measured. */
  readonly inputs?: Readonly<Record<string, readonly number[]>>;
  /** Sizes of named free dims, wherever they appear. */
  readonly dims?: Readonly<Record<string, number>>;
}

const positive = (s: string): number | undefined => (/^[1-9]\d*$/.test(s.trim()) ? Number(s) : undefined);

/** Parses the CLI's `--input-shape` and `--dim` values (both repeatable). */
export function parseInputShapes(inputShape: readonly string[] = [], dim: readonly string[] = []): InputShapes {
  const inputs: Record<string, number[]> = {};
  for (const s of inputShape) {
    const at = s.lastIndexOf(':');
    const sizes = at > 0 ? s.slice(at + 1).split(',').map(positive) : [];
    if (sizes.length === 0 || sizes.some((d) => d === undefined)) {
      throw new InputError(`--input-shape '${s}' is not of the form NAME:D1,D2,… with positive integer sizes`);
    }
    inputs[s.slice(0, at)] = sizes as number[];
  }
  const dims: Record<string, number> = {};
  for (const s of dim) {
    const at = s.lastIndexOf('=');
    const size = at > 0 ? positive(s.slice(at + 1)) : undefined;
    if (size === undefined) throw new InputError(`--dim '${s}' is not of the form SYMBOL=VALUE with a positive integer value`);
    dims[s.slice(0, at)] = size;
  }
  return { inputs, dims };
}

/**
 * The sizes random feeds use: what the user gave, else — for a model with one input, the one a
 * data set feeds — the data set's sample shape.
 */
export function shapesOf(model: Model, given: InputShapes, dataset?: Pick<Dataset, 'x'>): InputShapes {
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  const only = inputs.length === 1 ? inputs[0]! : undefined;
  const fromData = dataset && only?.type?.shape?.length === dataset.x.shape.length ? { [only.name]: [1, ...dataset.x.shape.slice(1)] } : {};
  return { inputs: { ...fromData, ...given.inputs }, dims: given.dims };
}

/**
 * The batch a whole given shape implies (its leading dim), for checks that run a model once:
 * a model whose state input carries the batch on an unnamed axis (`[2,?,128]`) runs only at the
 * batch its shapes were given for.
 */
export function givenBatch(shapes: InputShapes | undefined): number | undefined {
  return Object.values(shapes?.inputs ?? {})[0]?.[0];
}

/** The flag that sizes this input, spelled out with what is known: `--input-shape x:1,3,H,W`. */
function flagFor(input: string, shape: readonly Dim[], axis: number): string {
  const dims = shape.map((d, i) => (typeof d === 'number' && d >= 0 ? String(d) : i === 0 ? '1' : 'N'));
  const symbol = shape[axis];
  const byName = typeof symbol === 'string' && symbol !== '' ? ` or --dim ${symbol}=N` : '';
  return `--input-shape ${input}:${dims.join(',')}${byName}`;
}

/** Checks a given shape against what the model declares: same rank, same fixed sizes. */
function checkGiven(label: string, input: string, declared: readonly Dim[], given: readonly number[]): void {
  const fixedMismatch = declared.findIndex((d, i) => typeof d === 'number' && d >= 0 && d !== given[i]);
  if (given.length !== declared.length || fixedMismatch >= 0) {
    throw new InputError(`${label}: --input-shape ${input}:${given.join(',')} does not fit input "${input}" of shape [${declared.map((d) => (typeof d === 'number' && d >= 0 ? d : d || '?')).join(',')}]`);
  }
}

/**
 * Checks every `--input-shape` (and `--input-value` name) against the model's inputs before
 * anything runs: a name it lacks, a wrong rank or size.
 */
export function checkShapesFit(model: Model, label: string, shapes: InputShapes, values: InputValues = {}): void {
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  for (const name of Object.keys(values)) {
    if (!inputs.some((v) => v.name === name)) throw new InputError(`--input-value ${name}: ${label} has no input of that name (inputs: ${inputs.map((v) => v.name).join(', ')})`);
  }
  for (const [name, given] of Object.entries(shapes.inputs ?? {})) {
    const input = inputs.find((v) => v.name === name);
    if (!input) throw new InputError(`${label}: --input-shape names '${name}', which is not an input of the model (inputs: ${inputs.map((v) => v.name).join(', ')})`);
    if (input.type?.shape) checkGiven(label, name, input.type.shape, given);
  }
}

/**
 * A concrete shape for one input. `batch` sizes the free leading dim (and `batchName`
 * wherever it appears); the user's whole shape, then named dims, size the rest.
 */
export function concreteShape(label: string, input: string, declared: readonly Dim[], batch: number, shapes: InputShapes = {}, batchName?: string): number[] {
  const given = shapes.inputs?.[input];
  if (given) checkGiven(label, input, declared, given);
  return declared.map((d, axis) => {
    if (typeof d === 'number' && d >= 0) return d;
    if (axis === 0 || (d !== '' && d === batchName)) return batch;
    if (given) return given[axis]!;
    if (typeof d === 'string' && d !== '' && shapes.dims?.[d] !== undefined) return shapes.dims[d];
    const what = typeof d === 'string' && d !== '' ? `symbolic dim "${d}"` : 'an unnamed dynamic dim';
    throw new ShapeUnknownError(`${label}: input "${input}" has ${what} at axis ${axis}; give its size with ${flagFor(input, declared, axis)}`);
  });
}
