/** Where a report's numbers were measured: timings mean little without the machine and runtime. */
import { createRequire } from 'node:module';
import os from 'node:os';
import type { Environment } from './schema.ts';

function onnxruntimeVersion(): string {
  try {
    // Its package.json, not the module: loading the native binding just to name it is wasteful.
    return (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** `threads`: the intra-op threads asked for; 0 or undefined is onnxruntime's default. */
export function currentEnvironment(threads = 0): Environment {
  const cpus = os.cpus();
  return {
    node: process.versions.node,
    onnxruntime: onnxruntimeVersion(),
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    threads,
  };
}
