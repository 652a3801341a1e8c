/**
 * A recipe: the whole compression job in one YAML (or JSON) file — input, passes with their
 * options, data sets, budgets, measurement settings, outputs and report paths — so a CI job
 * is one reviewed file instead of a long command line. Validation names the line and, for a
 * wrong value, the values allowed; pass names and options are checked against the pass
 * registry and each pass's own options schema, the same checks the pipeline makes.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { passes } from '../../passes/index.ts';
import { InputError } from '../errors.ts';
import { validateOptions } from '../pipeline/options.ts';
import type { AnyPass, ResolvedStep } from '../pipeline/run.ts';
import { parseSize, type CompressedSizes } from '../report/size.ts';

export interface Recipe {
  /** The file it was read from, and its content as parsed (recorded in the report). */
  path: string;
  content: unknown;
  input: string;
  output: string;
  steps: ResolvedStep[];
  data: { calib?: string; eval?: string; limit?: number };
  /** As the CLI flags take them (minAgreement in percent). */
  budgets: { maxAccuracyDrop?: number; maxSize?: string; minSpeedup?: string[]; minAgreement?: number };
  measure: { latency?: boolean; threads?: number; batchSize: number; compressedSizes: CompressedSizes };
  externalData: boolean;
  reports: string[];
}

export const RECIPE_KEYS = ['version', 'input', 'output', 'passes', 'data', 'budgets', 'measure', 'externalData', 'report'] as const;
const DATA_KEYS = ['calib', 'eval', 'limit'] as const;
const BUDGET_KEYS = ['maxAccuracyDrop', 'maxSize', 'minSpeedup', 'minAgreement'] as const;
const MEASURE_KEYS = ['latency', 'threads', 'batchSize', 'compressedSizes'] as const;

type Path = (string | number)[];

/** Errors carry `file:line:` and the key path, so a reader can go straight to it. */
class Located {
  constructor(private readonly file: string, private readonly doc: Document, private readonly lines: LineCounter) {}

  line(path: Path, key = false): number {
    // A key's own line reads better for "unknown key" errors; the value's for bad values.
    const parent = path.length ? this.doc.getIn(path.slice(0, -1), true) : undefined;
    const pair = (parent as { items?: { key?: { value?: unknown; range?: number[] } }[] } | undefined)?.items?.find((p) => p.key?.value === path.at(-1));
    const node = key && pair?.key ? pair.key : (this.doc.getIn(path, true) as { range?: number[] } | undefined) ?? pair?.key;
    const offset = node?.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  error(path: Path, message: string, key = false): InputError {
    const where = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
    return new InputError(`${this.file}:${this.line(path, key)}: ${where ? `${where}: ` : ''}${message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(at: Located, path: Path, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw at.error([...path, key], `unknown key (allowed: ${allowed.join(', ')})`, true);
  }
}

function string(at: Located, path: Path, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw at.error(path, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function number(at: Located, path: Path, v: unknown, min = 0): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw at.error(path, `must be a number ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function boolean(at: Located, path: Path, v: unknown): boolean {
  if (typeof v !== 'boolean') throw at.error(path, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** `- cleanup`, `- quantize: { mode: dynamic }` or `- { pass: quantize, options: {…} }`. */
function parseStep(at: Located, path: Path, raw: unknown): { name: string; options: Record<string, unknown>; optionsPath: Path } {
  if (typeof raw === 'string') return { name: raw, options: {}, optionsPath: path };
  if (isObject(raw) && typeof raw.pass === 'string') {
    checkKeys(at, path, raw, ['pass', 'options']);
    if (raw.options !== undefined && !isObject(raw.options)) throw at.error([...path, 'options'], 'must be a mapping of option: value');
    return { name: raw.pass, options: (raw.options as Record<string, unknown>) ?? {}, optionsPath: [...path, 'options'] };
  }
  if (isObject(raw) && Object.keys(raw).length === 1) {
    const [name, options] = Object.entries(raw)[0]!;
    if (options !== null && !isObject(options)) throw at.error([...path, name], 'must be a mapping of option: value');
    return { name, options: (options as Record<string, unknown> | null) ?? {}, optionsPath: [...path, name] };
  }
  throw at.error(path, 'a pass is a name (- cleanup) or a name with options (- quantize: { mode: dynamic })');
}

function parseSteps(at: Located, raw: unknown, data: Recipe['data'], resolvePath: (p: string) => string): ResolvedStep[] {
  if (!Array.isArray(raw) || raw.length === 0) throw at.error(['passes'], 'must be a non-empty list of passes');
  return raw.map((item, i) => {
    const { name, options, optionsPath } = parseStep(at, ['passes', i], item);
    const pass = (passes as Record<string, AnyPass | undefined>)[name];
    if (!pass) throw at.error(['passes', i], `unknown pass '${name}' (available: ${Object.keys(passes).join(', ')})`);
    const given: Record<string, unknown> = { ...options };
    for (const key of Object.keys(options)) {
      try {
        validateOptions(name, pass.options, { [key]: options[key] });
      } catch (err) {
        // validateOptions's message already lists the allowed values or options.
        const message = (err as Error).message.replace(/^pass '[^']+': /, '').replace(`option '${key}' must`, 'must');
        throw at.error([...optionsPath, key], message, pass.options[key] === undefined);
      }
      // Option values that are files are relative to the recipe, like every other path in it.
      if (typeof given[key] === 'string' && given[key] !== '' && ['calib', 'evalData', 'recipe'].includes(key)) given[key] = resolvePath(given[key] as string);
    }
    // The recipe's calibration set feeds the quantizers that did not name one; its held-out
    // set feeds quantize's own accuracy budget. Prune's `calib` (bias compensation) changes
    // the result, so it is never filled in: name it there if you want it.
    if (pass.kind === 'quantize' && 'calib' in pass.options && given.calib === undefined && data.calib) given.calib = data.calib;
    if ('evalData' in pass.options && given.evalData === undefined && data.eval && typeof given.maxAccuracyDrop === 'number' && given.maxAccuracyDrop >= 0) given.evalData = data.eval;
    return { pass, options: given };
  });
}

/** Parses and validates a recipe's text; `file` names it in errors and anchors relative paths. */
export function parseRecipe(text: string, file: string): Recipe {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new InputError(`${file}:${e.linePos?.[0].line ?? 1}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const at = new Located(file, doc, lines);
  const raw = doc.toJS() as unknown;
  if (!isObject(raw)) throw at.error([], `a recipe is a mapping with ${RECIPE_KEYS.join(', ')}`);
  checkKeys(at, [], raw, RECIPE_KEYS);
  // A section whose entries are all commented out (as in `init`'s starter) reads as null.
  for (const key of ['data', 'budgets', 'measure'] as const) if (raw[key] === null) delete raw[key];
  if (raw.version !== undefined && raw.version !== 1) throw at.error(['version'], `unsupported version ${JSON.stringify(raw.version)} (allowed: 1)`);
  const base = dirname(file);
  // Paths stay relative to the working directory when they were, for readable reports.
  const resolvePath = (p: string) => (isAbsolute(p) ? p : relative(process.cwd(), join(base, p)) || '.');
  for (const key of ['input', 'output', 'passes'] as const) if (raw[key] === undefined) throw at.error([], `missing '${key}'`);

  const data: Recipe['data'] = {};
  if (raw.data !== undefined) {
    if (!isObject(raw.data)) throw at.error(['data'], `must be a mapping with ${DATA_KEYS.join(', ')}`);
    checkKeys(at, ['data'], raw.data, DATA_KEYS);
    if (raw.data.calib !== undefined) data.calib = resolvePath(string(at, ['data', 'calib'], raw.data.calib));
    if (raw.data.eval !== undefined) data.eval = resolvePath(string(at, ['data', 'eval'], raw.data.eval));
    if (raw.data.limit !== undefined) data.limit = number(at, ['data', 'limit'], raw.data.limit, 1);
  }
  const budgets: Recipe['budgets'] = {};
  if (raw.budgets !== undefined) {
    if (!isObject(raw.budgets)) throw at.error(['budgets'], `must be a mapping with ${BUDGET_KEYS.join(', ')}`);
    checkKeys(at, ['budgets'], raw.budgets, BUDGET_KEYS);
    const b = raw.budgets;
    if (b.maxAccuracyDrop !== undefined) budgets.maxAccuracyDrop = number(at, ['budgets', 'maxAccuracyDrop'], b.maxAccuracyDrop);
    if (b.maxSize !== undefined) {
      budgets.maxSize = typeof b.maxSize === 'number' ? String(b.maxSize) : string(at, ['budgets', 'maxSize'], b.maxSize);
      try {
        parseSize(budgets.maxSize);
      } catch (err) {
        throw at.error(['budgets', 'maxSize'], (err as Error).message);
      }
    }
    if (b.minAgreement !== undefined) budgets.minAgreement = number(at, ['budgets', 'minAgreement'], b.minAgreement);
    if (b.minSpeedup !== undefined) {
      const v = b.minSpeedup;
      if (typeof v !== 'number' && typeof v !== 'string') throw at.error(['budgets', 'minSpeedup'], 'must be a factor (1.2: batch 1 and 32) or b1:<factor> / b32:<factor>');
      budgets.minSpeedup = [String(v)];
    }
  }
  const measure: Recipe['measure'] = { batchSize: 64, compressedSizes: 'auto' };
  if (raw.measure !== undefined) {
    if (!isObject(raw.measure)) throw at.error(['measure'], `must be a mapping with ${MEASURE_KEYS.join(', ')}`);
    checkKeys(at, ['measure'], raw.measure, MEASURE_KEYS);
    const m = raw.measure;
    if (m.latency !== undefined) measure.latency = boolean(at, ['measure', 'latency'], m.latency);
    if (m.threads !== undefined) measure.threads = number(at, ['measure', 'threads'], m.threads, 1);
    if (m.batchSize !== undefined) measure.batchSize = number(at, ['measure', 'batchSize'], m.batchSize, 1);
    if (m.compressedSizes !== undefined) {
      const allowed = ['auto', 'always', 'never'];
      if (!allowed.includes(m.compressedSizes as string)) throw at.error(['measure', 'compressedSizes'], `must be one of ${allowed.join(', ')}, got ${JSON.stringify(m.compressedSizes)}`);
      measure.compressedSizes = m.compressedSizes as CompressedSizes;
    }
  }
  const reportRaw = raw.report === undefined ? [] : Array.isArray(raw.report) ? raw.report : [raw.report];
  const reports = reportRaw.map((r, i) => resolvePath(string(at, Array.isArray(raw.report) ? ['report', i] : ['report'], r)));
  for (const [i, r] of reports.entries()) {
    if (!/\.(json|md|html?)$/i.test(r)) throw at.error(Array.isArray(raw.report) ? ['report', i] : ['report'], `use a .json, .md or .html file name, got ${JSON.stringify(reportRaw[i])}`);
  }
  return {
    path: file,
    content: raw,
    input: resolvePath(string(at, ['input'], raw.input)),
    output: resolvePath(string(at, ['output'], raw.output)),
    steps: parseSteps(at, raw.passes, data, resolvePath),
    data,
    budgets,
    measure,
    externalData: raw.externalData === undefined ? false : boolean(at, ['externalData'], raw.externalData),
    reports,
  };
}

export async function loadRecipe(file: string): Promise<Recipe> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parseRecipe(text, file);
}
