/**
 * The one way onnxruntime runs on inputs it may choke on: in a child process. Random inputs
 * can drive onnxruntime into a native crash (STFT with a frame length of 0 raises SIGFPE),
 * which here ends only the child and becomes an error of ours; the child's stdout and stderr
 * are dropped, so onnxruntime's own log lines never reach the user's terminal. Verification,
 * latency timing and a pass's "it runs" check are the tasks (child-main.ts runs them).
 *
 * Two lifetimes: `runInChild` starts a fresh child for one task (latency wants a process of its
 * own, verification of large files wants the memory back); `runInSharedChild` hands short
 * checks to one long-lived child per process, so a pass pays the child's start-up once, not per
 * check. A crash of the shared child fails the tasks it had, and the next task starts another.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckError, InputError } from '../errors.ts';
import type { RunCheck } from './check.ts';
import type { LatencyTask, TimedModels } from './latency.ts';
import type { CompareOptions, OutputDiff } from './verify.ts';

/** What the child can be asked to do, and what each task answers. */
export interface ChildTasks {
  verify: { request: { reference: string | Uint8Array; candidate: string | Uint8Array; opts: CompareOptions }; result: OutputDiff[] };
  latency: { request: LatencyTask; result: TimedModels };
  check: { request: RunCheck; result: void };
}

export type ChildTask = keyof ChildTasks;

/** A request as sent to the child; `id` pairs it with its reply. */
export interface ChildRequest<K extends ChildTask = ChildTask> {
  id: number;
  task: K;
  request: ChildTasks[K]['request'];
}

/** The child's answer: a result, or an error that keeps its class (InputError, CheckError) and message. */
export type ChildReply<K extends ChildTask = ChildTask> = { id: number } & (
  | { result: ChildTasks[K]['result'] }
  | { error: { name: string; message: string } }
);

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  crashed(how: string): Error;
}

/** One child process and the tasks it has not answered yet. */
class Child {
  private readonly proc: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(onExit: () => void) {
    // Under tsx (tests, dev scripts) this file is .ts and the child needs tsx's loader too.
    const self = fileURLToPath(import.meta.url);
    const entry = join(dirname(self), `child-main${extname(self)}`);
    const execArgv = extname(self) === '.ts' ? ['--import', 'tsx'] : [];
    // 'advanced' serialization keeps Infinity (a mismatch) and typed arrays (model bytes) as they are.
    this.proc = fork(entry, [], { execArgv, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
    this.proc.on('message', (m: ChildReply) => this.settle(m));
    this.proc.once('exit', (code, signal) => {
      onExit();
      for (const p of this.pending.values()) p.reject(p.crashed(signal ?? `exit ${code}`));
      this.pending.clear();
    });
    this.idle();
  }

  run<K extends ChildTask>(task: K, request: ChildTasks[K]['request'], crashed: (how: string) => Error): Promise<ChildTasks[K]['result']> {
    const id = this.nextId++;
    this.busy();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, crashed });
      this.proc.send({ id, task, request } satisfies ChildRequest<K>);
    });
  }

  /** Ends the child (it exits when its channel closes). */
  close(): void {
    if (this.proc.connected) this.proc.disconnect();
  }

  private settle(m: ChildReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.idle();
    if ('result' in m) p.resolve(m.result);
    else p.reject(m.error.name === 'CheckError' ? new CheckError(m.error.message) : new InputError(m.error.message));
  }

  // An idle child must not keep this process alive; a busy one must, until it answers.
  private busy(): void {
    this.proc.ref();
    this.proc.channel?.ref();
  }

  private idle(): void {
    this.proc.unref();
    this.proc.channel?.unref();
  }
}

/**
 * Runs `task` in a fresh child process. A crash (a signal, or an exit without an answer)
 * rejects with `crashed(how)`, `how` being the signal name or `exit <code>`.
 */
export async function runInChild<K extends ChildTask>(task: K, request: ChildTasks[K]['request'], crashed: (how: string) => Error): Promise<ChildTasks[K]['result']> {
  const child = new Child(() => {});
  try {
    return await child.run(task, request, crashed);
  } finally {
    child.close();
  }
}

let shared: Child | undefined;

/**
 * Starts this process's long-lived child unless it runs: a caller that will check a model
 * later lets the child's start-up (Node and onnxruntime, ~0.3–0.5 s here) overlap its own work.
 */
export function startSharedChild(): void {
  sharedChild();
}

function sharedChild(): Child {
  const child = (shared ??= new Child(() => {
    if (shared === child) shared = undefined;
  }));
  return child;
}

/** Runs `task` in this process's long-lived child (started on first use, again after a crash). */
export function runInSharedChild<K extends ChildTask>(task: K, request: ChildTasks[K]['request'], crashed: (how: string) => Error): Promise<ChildTasks[K]['result']> {
  return sharedChild().run(task, request, crashed);
}
