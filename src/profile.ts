/**
 * Phase timings for finding where a run spends its time: `phase` records a named span in
 * Node's performance timeline (User Timing), which costs next to nothing when nobody reads
 * it. The CLI prints the spans to stderr when SHRINKRAY_PROFILE is set; library code only
 * records them.
 */

/** Runs `fn` (sync or async) and records its duration as the phase `name`. */
export function phase<T>(name: string, fn: () => T): T {
  const start = performance.now();
  const cpu = process.cpuUsage();
  // CPU time as well as wall time: on a shared machine the wall time mostly measures the others.
  const end = () => void performance.measure(name, { start, detail: { cpu: process.cpuUsage(cpu) } });
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

/** The recorded phases in the order they ended, one line each: `  12.345 s wall   1.234 s cpu  name` (CPU of all threads). */
export function phaseLines(): string[] {
  const seconds = (s: number) => s.toFixed(3).padStart(8);
  return performance.getEntriesByType('measure').map((m) => {
    const cpu = ((m as { detail?: unknown }).detail as { cpu?: NodeJS.CpuUsage } | undefined)?.cpu;
    return `${seconds(m.duration / 1000)} s wall ${cpu ? `${seconds((cpu.user + cpu.system) / 1e6)} s cpu` : ''}  ${m.name}`;
  });
}
