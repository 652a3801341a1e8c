/**
 * Phase timings for finding where a run spends its time: `phase` records a named span in
 * Node's performance timeline (User Timing), which costs next to nothing when nobody reads
 * it. The CLI prints the spans to stderr when SHRINKRAY_PROFILE is set; library code only
 * records them.
 */

/** Runs `fn` (sync or async) and records its duration as the phase `name`. */
export function phase<T>(name: string, fn: () => T): T {
  const start = performance.now();
  const end = () => void performance.measure(name, { start });
  let result: T;
  try {
    result = fn();
  } catch (err) {
    end();
    throw err;
  }
  if (result instanceof Promise) return result.finally(end) as T;
  end();
  return result;
}

/** The recorded phases in the order they ended, one line each: `  12.345 s  name`. */
export function phaseLines(): string[] {
  return performance.getEntriesByType('measure').map((m) => `${(m.duration / 1000).toFixed(3).padStart(8)} s  ${m.name}`);
}
