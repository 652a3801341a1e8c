/**
 * Options are declared once, as data: the schema gives the TypeScript type (enum values as
 * unions), the defaults and the validation; the CLI builds its flags from it, the pipeline
 * validates user input against it, and `shrinkray passes` and the docs list it.
 */
import { InputError } from '../errors.ts';

export type OptionSpec =
  | { type: 'number'; default: number; min?: number; max?: number; /** Values must be strictly greater. */ above?: number; /** Whole numbers only (counts, sizes, versions). */ integer?: boolean; description: string }
  | { type: 'boolean'; default: boolean; description: string }
  | { type: 'string'; default: string; description: string }
  | { type: 'enum'; default: string; values: readonly string[]; description: string }
  | { type: 'list'; default: readonly string[]; description: string };

export type OptionsSchema = Record<string, OptionSpec>;

/** The option values a schema describes, with defaults filled in. */
export type OptionValues<S extends OptionsSchema> = {
  -readonly [K in keyof S]: S[K] extends { type: 'number' }
    ? number
    : S[K] extends { type: 'boolean' }
      ? boolean
      : S[K] extends { type: 'list' }
        ? string[]
        : S[K] extends { type: 'enum'; values: readonly (infer V)[] }
          ? V
          : string;
};

/** The defaults a schema declares, as option values. */
export function defaultsOf<S extends OptionsSchema>(schema: S): OptionValues<S> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) out[key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  return out as OptionValues<S>;
}

function coerce(pass: string, key: string, spec: OptionSpec, raw: unknown): unknown {
  const bad = (what: string) => new InputError(`pass '${pass}': option '${key}' ${what}`);
  switch (spec.type) {
    case 'number': {
      const n = typeof raw === 'string' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(`must be a number, got ${JSON.stringify(raw)}`);
      if (spec.integer && !Number.isInteger(n)) throw bad(`must be a whole number, got ${n}`);
      if (spec.min !== undefined && n < spec.min) throw bad(`must be ≥ ${spec.min}, got ${n}`);
      if (spec.above !== undefined && !(n > spec.above)) throw bad(`must be > ${spec.above}, got ${n}`);
      if (spec.max !== undefined && n > spec.max) throw bad(`must be ≤ ${spec.max}, got ${n}`);
      return n;
    }
    case 'boolean':
      if (raw === 'true' || raw === true) return true;
      if (raw === 'false' || raw === false) return false;
      throw bad(`must be true or false, got ${JSON.stringify(raw)}`);
    case 'enum':
      if (typeof raw !== 'string' || !spec.values.includes(raw)) throw bad(`must be one of ${spec.values.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw;
    case 'list':
      if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter(Boolean);
      if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return raw;
      throw bad(`must be a comma-separated list, got ${JSON.stringify(raw)}`);
    case 'string':
      if (typeof raw !== 'string') throw bad(`must be a string, got ${JSON.stringify(raw)}`);
      return raw;
  }
}

export function validateOptions<S extends OptionsSchema>(pass: string, schema: S, given: Record<string, unknown> = {}): OptionValues<S> {
  for (const key of Object.keys(given)) {
    if (!(key in schema)) {
      const known = Object.keys(schema);
      throw new InputError(`pass '${pass}': unknown option '${key}'${known.length ? ` (options: ${known.join(', ')})` : ' (it takes no options)'}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    out[key] = given[key] === undefined ? spec.default : coerce(pass, key, spec, given[key]);
  }
  return out as OptionValues<S>;
}
