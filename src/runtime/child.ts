/**
 * The one way onnxruntime runs on inputs it may choke on: in a child process. Random inputs
 * can drive onnxruntime into a native crash (STFT with a frame step of 0 raises SIGFPE), which
 * here ends only the child and becomes an error of ours; the child's stdout and stderr are
 * dropped, so onnxruntime's own log lines never reach the user's terminal. Verification and
 * latency timing are the tasks (child-main.ts runs them).
 */
import { fork } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckError, InputError } from '../errors.ts';
import type { LatencyTask, TimedModels } from './latency.ts';
import type { CompareOptions, OutputDiff } from './verify.ts';

/** What the child can be asked to do, and what each task answers. */
export interface ChildTasks {
  verify: { request: { reference: string; candidate: string; opts: CompareOptions }; result: OutputDiff[] };
  latency: { request: LatencyTask; result: TimedModels };
}

export type ChildTask = keyof ChildTasks;

/** The child's answer: a result, or an error that keeps its class (InputError, CheckError) and message. */
export type ChildReply<K extends ChildTask> = { result: ChildTasks[K]['result'] } | { error: { name: string; message: string } };

/**
 * Runs `task` in a fresh child process. A crash (a signal, or an exit without an answer)
 * rejects with `crashed(how)`, `how` being the signal name or `exit <code>`.
 */
export async function runInChild<K extends ChildTask>(task: K, request: ChildTasks[K]['request'], crashed: (how: string) => Error): Promise<ChildTasks[K]['result']> {
  // Under tsx (tests, dev scripts) this file is .ts and the child needs tsx's loader too.
  const self = fileURLToPath(import.meta.url);
  const entry = join(dirname(self), `child-main${extname(self)}`);
  const execArgv = extname(self) === '.ts' ? ['--import', 'tsx'] : [];
  // 'advanced' serialization keeps Infinity (a mismatch) and typed arrays (model bytes) as they are.
  const proc = fork(entry, [], { execArgv, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
  return await new Promise((resolve, reject) => {
    let settled = false;
    proc.once('message', (m: ChildReply<K>) => {
      settled = true;
      if ('result' in m) resolve(m.result);
      else reject(m.error.name === 'CheckError' ? new CheckError(m.error.message) : new InputError(m.error.message));
    });
    proc.once('exit', (code, signal) => {
      if (!settled) reject(crashed(signal ?? `exit ${code}`));
    });
    proc.send({ task, request });
  });
}
