/**
 * The pass contract. A pass is a plain object in its own file under `passes/`: a name, a
 * kind, an options schema and `run`. It edits the model in place and returns what it
 * changed; it never prints or exits (progress and notes go through the context).
 */
import type { Model } from '../ir/model.ts';
import type { OptionValues, OptionsSchema } from './options.ts';

export type PassKind = 'cleanup' | 'prune' | 'quantize' | 'distill' | 'export';

export interface PassContext {
  /** Reports progress of a long step (0..1). */
  progress(fraction: number, label?: string): void;
  /** A note for the report (what was skipped and why, what was changed). */
  note(message: string): void;
}

/** What a pass changed, for the report: counts keyed by what they count. */
export type PassChanges = Record<string, number>;

export interface Pass<S extends OptionsSchema = OptionsSchema> {
  readonly name: string;
  readonly kind: PassKind;
  readonly description: string;
  readonly options: S;
  run(model: Model, options: OptionValues<S>, ctx: PassContext): Promise<PassChanges>;
}

/** Declares a pass with its option types inferred from the schema. */
export function definePass<S extends OptionsSchema>(pass: Pass<S>): Pass<S> {
  return pass;
}
