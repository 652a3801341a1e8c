/** Where a report's numbers were measured: timings mean little without the machine and runtime. */
import os from 'node:os';
import { onnxruntimeVersion } from '../runtime/version.ts';
import type { Environment } from './schema.ts';

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
