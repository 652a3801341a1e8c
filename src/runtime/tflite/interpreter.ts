/**
 * The real TFLite interpreter (TFLite + XNNPACK compiled to WASM, shipped by
 * `@tensorflow/tfjs-tflite`), made to run in Node. The package targets browsers; it loads in
 * Node once a few browser globals exist (`self`, `location`, `navigator`, `importScripts`, a
 * `fetch` that serves `file://`) and its WASM folder offers the non-threaded SIMD build
 * under the `*_simd_threaded.js` name it picks when it sees SharedArrayBuffer (Node has no
 * `Worker`, so the threaded build cannot start).
 *
 * The package is a devDependency (see docs/passes/export-tflite.md): `loadInterpreter`
 * resolves to undefined when it is not installed, and callers say the check was skipped.
 * Kept under runtime/tflite so its tfjs-core copy never meets the project's own tfjs.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInThisContext } from 'node:vm';
import { InputError } from '../../errors.ts';

export interface TfliteTensorInfo {
  name: string;
  shape: number[];
  dtype: string;
}

export type TfliteArray = Int8Array | Uint8Array | Int16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

export interface TfliteRunner {
  readonly inputs: readonly TfliteTensorInfo[];
  readonly outputs: readonly TfliteTensorInfo[];
  /** One run: values per input in the model's input order; outputs in its output order (copies). */
  run(inputs: readonly ArrayLike<number>[]): TfliteArray[];
  /** Frees the interpreter's memory. */
  dispose(): void;
}

/** The interpreter object behind tfjs-tflite's TFLiteModel (types/tflite_web_model_runner.d.ts). */
interface WebModelRunner {
  getInputs(): WebTensorInfo[];
  getOutputs(): WebTensorInfo[];
  infer(): boolean;
  delete?(): void;
}
interface WebTensorInfo {
  name: string;
  dataType: string;
  shape: string;
  data(): TfliteArray;
}
interface TfModule {
  loadTFLiteModel(model: ArrayBuffer, opts?: { numThreads?: number }): Promise<{ modelRunner: WebModelRunner }>;
  setWasmPath(path: string): void;
}

let loading: Promise<TfModule | undefined> | undefined;

const require = createRequire(import.meta.url);

function packageDir(): string | undefined {
  try {
    return dirname(dirname(require.resolve('@tensorflow/tfjs-tflite')));
  } catch {
    return undefined;
  }
}

/** A folder where the `_simd_threaded` names hold the non-threaded SIMD build. */
function wasmFolder(pkg: string): string {
  const src = join(pkg, 'wasm');
  const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version as string;
  const dir = join(tmpdir(), `shrinkray-tflite-wasm-${version}-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['tflite_web_api_cc_simd.js', 'tflite_web_api_cc_simd_threaded.js'],
    ['tflite_web_api_cc_simd.wasm', 'tflite_web_api_cc_simd.wasm'],
    ['tflite_web_api_cc_simd.js', 'tflite_web_api_cc_simd.js'],
    ['tflite_web_api_cc.js', 'tflite_web_api_cc.js'],
    ['tflite_web_api_cc.wasm', 'tflite_web_api_cc.wasm'],
  ];
  for (const [from, to] of files) if (!existsSync(join(dir, to))) copyFileSync(join(src, from), join(dir, to));
  return dir;
}

function installShims(): void {
  const g = globalThis as Record<string, unknown>;
  if (g.self === undefined) g.self = globalThis;
  if (g.location === undefined) g.location = { href: 'file:///', origin: 'file://' };
  if (g.navigator === undefined) g.navigator = { userAgent: 'node', hardwareConcurrency: 1 };
  if (g.importScripts === undefined) {
    g.importScripts = (...urls: string[]) => {
      for (const url of urls) runInThisContext(readFileSync(url.startsWith('file:') ? fileURLToPath(url) : url, 'utf8'), { filename: url });
    };
  }
  const realFetch = globalThis.fetch;
  const marked = realFetch as typeof fetch & { shrinkrayFile?: true };
  if (!marked.shrinkrayFile) {
    const fileFetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.startsWith('file:') || url.startsWith('/')) {
        const path = url.startsWith('file:') ? fileURLToPath(url) : url;
        return new Response(readFileSync(path), { headers: { 'content-type': path.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' } });
      }
      return realFetch(input, init);
    }) as typeof fetch & { shrinkrayFile?: true };
    fileFetch.shrinkrayFile = true;
    globalThis.fetch = fileFetch;
  }
}

/** The interpreter module, or undefined when `@tensorflow/tfjs-tflite` is not installed. */
export function loadInterpreter(): Promise<TfModule | undefined> {
  loading ??= (async () => {
    const pkg = packageDir();
    if (!pkg) return undefined;
    const dir = wasmFolder(pkg);
    installShims();
    const tflite = require('@tensorflow/tfjs-tflite') as TfModule;
    tflite.setWasmPath(`${dir}/`); // the loader prefixes location.origin ('file://')
    return tflite;
  })();
  return loading;
}

/** Whether the interpreter can be loaded here. */
export async function interpreterAvailable(): Promise<boolean> {
  return (await loadInterpreter()) !== undefined;
}

/** Loads a `.tflite` flatbuffer into the interpreter (one thread). Throws InputError if it refuses it. */
export async function createTfliteRunner(bytes: Uint8Array): Promise<TfliteRunner> {
  const tflite = await loadInterpreter();
  if (!tflite) throw new InputError('the TFLite interpreter (@tensorflow/tfjs-tflite) is not installed');
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let runner: WebModelRunner;
  try {
    runner = (await quietly(() => tflite.loadTFLiteModel(buffer, { numThreads: 1 }))).modelRunner;
  } catch (err) {
    throw new InputError(`the TFLite interpreter rejected the model: ${(err as Error).message ?? String(err)}`, { cause: err });
  }
  const info = (t: WebTensorInfo): TfliteTensorInfo => ({ name: t.name, shape: t.shape ? t.shape.split(',').map(Number) : [], dtype: t.dataType });
  const ins = runner.getInputs();
  const outs = runner.getOutputs();
  return {
    inputs: ins.map(info),
    outputs: outs.map(info),
    run(values) {
      if (values.length !== ins.length) throw new InputError(`the model has ${ins.length} inputs, ${values.length} given`);
      ins.forEach((t, i) => {
        const target = t.data();
        const v = values[i]!;
        if (v.length !== target.length) throw new InputError(`input '${t.name}' takes ${target.length} values, ${v.length} given`);
        target.set(v);
      });
      if (!runner.infer()) throw new InputError('the TFLite interpreter failed to run the model');
      return outs.map((t) => t.data().slice());
    },
    dispose() {
      runner.delete?.();
    },
  };
}

/** Runs `fn` with console.log/info/warn silenced: the WASM build prints "INFO: Created … delegate" lines. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const { log, info, warn } = console;
  console.log = console.info = console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
    console.info = info;
    console.warn = warn;
  }
}
