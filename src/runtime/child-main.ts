/**
 * The child side of `runInChild` (child.ts): runs one task and sends the result back. A
 * native crash in onnxruntime (SIGFPE, SIGSEGV, abort) ends only this process.
 */
import type { ChildReply, ChildTask, ChildTasks } from './child.ts';
import { timeModelsHere } from './latency.ts';
import { compareOnRandomInputs } from './verify.ts';

const TASKS: { [K in ChildTask]: (request: ChildTasks[K]['request']) => Promise<ChildTasks[K]['result']> } = {
  verify: (r) => compareOnRandomInputs(r.reference, r.candidate, r.opts),
  latency: (r) => timeModelsHere(r),
};

process.once('message', <K extends ChildTask>({ task, request }: { task: K; request: ChildTasks[K]['request'] }) => {
  const reply = (m: ChildReply<K>) => process.send!(m, () => process.disconnect());
  TASKS[task](request).then(
    (result) => reply({ result }),
    (err: unknown) => reply({ error: err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) } }),
  );
});
