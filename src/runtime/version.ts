/** onnxruntime's version, for reports; read from its package.json, without loading the native binding. */
import { createRequire } from 'node:module';

export function onnxruntimeVersion(): string {
  try {
    return (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
