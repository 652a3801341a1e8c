/**
 * Files and folders that exist only until a write is committed: temp files of `AtomicFile`,
 * staging folders of `stageModel`. A run stopped by a signal cannot reach its `finally`
 * blocks, so `bin/` calls `removePendingOutputs()` from its SIGINT/SIGTERM handler: no half
 * written output survives an interrupted run. Library code only registers; it never exits.
 */
import { rmSync } from 'node:fs';

const pending = new Set<string>();

export function trackPending(path: string): void {
  pending.add(path);
}

export function untrackPending(path: string): void {
  pending.delete(path);
}

/** Paths not committed yet (for tests). */
export function pendingOutputs(): string[] {
  return [...pending];
}

/** Removes every uncommitted temp file and staging folder, synchronously (safe in a signal handler). */
export function removePendingOutputs(): void {
  for (const path of pending) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // best effort: the process is about to exit
    }
  }
  pending.clear();
}
