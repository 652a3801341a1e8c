/** The fuzz worker thread: runs the cases it is sent, one at a time, and answers each. */
import { parentPort, workerData } from 'node:worker_threads';
import { executeCase } from './execute.ts';

const dir = (workerData as { dir: string }).dir;
parentPort!.on('message', async (msg: { id: number; bytes: Uint8Array }) => {
  const start = performance.now();
  const result = await executeCase(msg.bytes, dir);
  parentPort!.postMessage({ id: msg.id, result, ms: performance.now() - start });
});
