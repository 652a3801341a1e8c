/**
 * The check every pass runs before returning: onnxruntime-node loads the model and runs it
 * once on seeded random inputs (when every input's shape can be made concrete). A model the
 * runtime refuses is a failed check (exit 1), named by `label`.
 */
import { CheckError } from '../errors.ts';
import { mulberry32 } from '../math/random.ts';
import { planFeeds } from './latency.ts';
import { createSession, runBatch, type Session } from './ort.ts';

export async function checkRunsInOrt(bytes: Uint8Array, label: string): Promise<void> {
  let session: Session;
  try {
    session = await createSession(bytes, { label });
  } catch (err) {
    throw new CheckError((err as Error).message, { cause: err });
  }
  try {
    let feeds;
    try {
      feeds = planFeeds(session, 1, mulberry32(1)).feeds;
    } catch {
      return; // inputs with unnamed dynamic dims: loading is the check
    }
    try {
      await runBatch(session, feeds);
    } catch (err) {
      throw new CheckError((err as Error).message, { cause: err });
    }
  } finally {
    await session.ort.release();
  }
}
