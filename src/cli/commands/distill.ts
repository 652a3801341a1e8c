/**
 * `shrinkray distill --teacher T.onnx --student S.onnx --data train.npz -o out.onnx`: the
 * distill pass on the student, then the usual save and report. `--data` is the training set
 * (the pass's `train`); the report measures accuracy only on `--eval-data`, so held-out
 * numbers never come from the data the student trained on.
 */
import { passes } from '../../../passes/index.ts';
import { InputError } from '../../errors.ts';
import type { CliIO } from '../io.ts';
import { runCompress, type OutputArgs } from './compress.ts';

export interface DistillArgs extends Omit<OutputArgs, 'input' | 'verify'> {
  student: string;
  teacher: string;
  evalData?: string;
  [option: string]: unknown;
}

export async function distillCommand(args: DistillArgs, io: CliIO): Promise<number> {
  const pass = passes.distill!;
  if (!args.data) throw new InputError('distill needs --data (the training set; labels optional)');
  const options: Record<string, unknown> = {};
  for (const key of Object.keys(pass.options)) if (args[key] !== undefined) options[key] = args[key];
  options.train = args.data;
  options.teacher = args.teacher;
  return runCompress({ ...args, input: args.student, verify: false, data: args.evalData }, [{ pass, options }], io);
}
