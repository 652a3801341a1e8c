/**
 * The child side of child.ts: answers each task it is sent, and ends when its channel closes
 * (nothing else keeps it alive). A native crash in onnxruntime (SIGFPE, SIGSEGV, abort) ends
 * only this process.
 */
import { checkHere } from './check.ts';
import type { ChildReply, ChildRequest, ChildTask, ChildTasks } from './child.ts';
import { timeModelsHere } from './latency.ts';
import { compareOnRandomInputs } from './verify.ts';

const TASKS: { [K in ChildTask]: (request: ChildTasks[K]['request']) => Promise<ChildTasks[K]['result']> } = {
  verify: (r) => compareOnRandomInputs(r.reference, r.candidate, r.opts),
  latency: (r) => timeModelsHere(r),
  check: (r) => checkHere(r),
};

process.on('message', <K extends ChildTask>({ id, task, request }: ChildRequest<K>) => {
  const reply = (m: ChildReply<K>) => process.send!(m);
  (TASKS[task] as (r: ChildTasks[K]['request']) => Promise<ChildTasks[K]['result']>)(request).then(
    (result) => reply({ id, result }),
    (err: unknown) => reply({ id, error: err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) } }),
  );
});
