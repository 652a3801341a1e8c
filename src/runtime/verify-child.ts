/**
 * The child side of `compareInChildProcess`: runs one comparison and sends the result back.
 * A native crash in onnxruntime (SIGFPE, SIGSEGV, abort) ends only this process.
 */
import { compareOnRandomInputs, type CompareOptions } from './verify.ts';

interface Request {
  reference: string;
  candidate: string;
  opts: CompareOptions;
}

process.once('message', (req: Request) => {
  compareOnRandomInputs(req.reference, req.candidate, req.opts).then(
    (diffs) => process.send!({ diffs }, () => process.disconnect()),
    (err: unknown) => process.send!({ error: err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) } }, () => process.disconnect()),
  );
});
