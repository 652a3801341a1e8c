/**
 * onnxruntime-node behind the one runtime interface (`GraphSession`, runtime/types.ts). The
 * only module that touches onnxruntime's own tensor and session types; everything else sees
 * host tensors. Every failure of the runtime becomes a one-line error naming the model.
 */
import type * as ort from 'onnxruntime-node';
import { InputError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import { LARGE_MODEL_BYTES, modelToBytes, tensorBytes, withModelFile } from '../io/save.ts';
import type { DType, TypedArray } from '../onnx/dtype.ts';
import type { GraphSession, HostTensor, OpenOptions, Runtime, ValueSpec } from './types.ts';

/**
 * onnxruntime-node, loaded when the first session opens: importing it costs 50–150 ms of
 * every command's start here, and on a large model most commands never open a session in
 * this process (checks run in the child, latency is skipped).
 */
let loaded: typeof ort | undefined;
async function onnxruntimeNode(): Promise<typeof ort> {
  if (!loaded) {
    loaded = await import('onnxruntime-node');
    // The process-wide logger too (session creation logs before session options apply).
    loaded.env.logLevel = 'fatal';
  }
  return loaded;
}

export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions extends OpenOptions {
  /** ORT graph optimizations; default 'all'. */
  optimization?: OptimizationLevel;
  /** false skips weight prepacking: loading then proves kernels exist without paying for speed. Default true. */
  prepack?: boolean;
  /** Profiles every run; `OrtSession.endProfiling` writes the per-node profile (JSON) to a file whose path starts with this. */
  profilePrefix?: string;
  /** Writes the graph onnxruntime runs, after its own rewrites, to this path. */
  optimizedModelPath?: string;
  /** onnxruntime session config entries, e.g. { 'session.qdqisint8allowed': '1' } (for experiments). */
  config?: Readonly<Record<string, string>>;
}

/** The first line of a runtime error: onnxruntime's messages run over many lines. */
export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? 'unknown error';
}

function rejected(label: string, err: unknown): InputError {
  return new InputError(`onnxruntime rejected ${label}: ${firstLine(err)}`, { cause: err });
}

const ORT_DTYPES: Partial<Record<string, DType>> = {
  float32: 'float32', float64: 'float64', float16: 'float16', int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16',
  int32: 'int32', uint32: 'uint32', int64: 'int64', uint64: 'uint64', bool: 'bool', string: 'string',
};

function valueSpec(m: ort.InferenceSession.ValueMetadata): ValueSpec {
  if (!m.isTensor) return { name: m.name, dtype: undefined, shape: undefined };
  return { name: m.name, dtype: ORT_DTYPES[m.type], shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? d : '')) };
}

function fromOrt(t: ort.Tensor, label: string, name: string): HostTensor {
  const dtype = ORT_DTYPES[t.type];
  if (!dtype || dtype === 'string') throw new InputError(`${label}: value "${name}" is ${t.type}, not a numeric tensor`);
  return { dtype, dims: [...t.dims], data: t.data as TypedArray };
}

/** An onnxruntime session. `handle` is for code in src/runtime/ that needs onnxruntime itself (timing). */
export class OrtSession implements GraphSession {
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];

  constructor(
    readonly label: string,
    readonly handle: ort.InferenceSession,
  ) {
    this.inputs = handle.inputMetadata.map(valueSpec);
    this.outputs = handle.outputMetadata.map(valueSpec);
  }

  /** A host tensor as onnxruntime's own (what `runOrt` takes). */
  tensor(t: HostTensor): ort.Tensor {
    return new loaded!.Tensor(t.dtype as ort.Tensor.Type, t.data as ort.Tensor.DataType, [...t.dims]);
  }

  async run(feeds: Readonly<Record<string, HostTensor>>, fetches?: readonly string[]): Promise<Record<string, HostTensor>> {
    const out = await this.runOrt(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, this.tensor(t)])), fetches);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, fromOrt(t, this.label, k)]));
  }

  /** One run with onnxruntime's own tensors (no conversion: what latency timing needs). */
  async runOrt(feeds: Record<string, ort.Tensor>, fetches?: readonly string[]): Promise<Record<string, ort.Tensor>> {
    try {
      // onnxruntime-node cannot hand back sequences, maps or optionals ("Non tensor type is
      // temporarily not supported"): by default only the tensor outputs are fetched.
      const tensors = this.outputs.filter((o) => o.dtype !== undefined).map((o) => o.name);
      const wanted = fetches ?? (tensors.length < this.outputs.length ? tensors : undefined);
      const out = wanted ? await this.handle.run(feeds, wanted as string[]) : await this.handle.run(feeds);
      return out as Record<string, ort.Tensor>;
    } catch (err) {
      throw rejected(this.label, err);
    }
  }

  /** Stops profiling (SessionOptions.profilePrefix) and writes the profile file. */
  endProfiling(): void {
    this.handle.endProfiling();
  }

  async close(): Promise<void> {
    await this.handle.release();
  }
}

/** Opens a model from a path, its bytes, or the in-memory IR (encoded once here). */
export async function createSession(model: Model | Uint8Array | string, opts: SessionOptions = {}): Promise<OrtSession> {
  const label = typeof model === 'string' ? model : (opts.label ?? 'model');
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    // Sequential: operators run one at a time, so latency reflects one core pool, not a race.
    executionMode: 'sequential',
    graphOptimizationLevel: opts.optimization ?? 'all',
    // 4 = fatal only: ORT otherwise prints its own error lines to stderr, and library code never
    // prints (every failure reaches the user once, as the thrown error's first line).
    logSeverityLevel: 4,
    extra: { ...(opts.prepack === false && { 'session.disable_prepacking': '1' }), ...opts.config },
    ...(opts.profilePrefix !== undefined && { enableProfiling: true, profileFilePrefix: opts.profilePrefix }),
    ...(opts.optimizedModelPath !== undefined && { optimizedModelFilePath: opts.optimizedModelPath }),
  };
  const ort = await onnxruntimeNode();
  const open = async (source: string | Uint8Array) => {
    try {
      const handle = typeof source === 'string' ? await ort.InferenceSession.create(source, options) : await ort.InferenceSession.create(source, options);
      return new OrtSession(label, handle);
    } catch (err) {
      throw rejected(label, err);
    }
  };
  if (typeof model === 'string' || model instanceof Uint8Array) return open(model);
  // A large in-memory model goes to onnxruntime through a file: its bytes are never held here beside onnxruntime's copy.
  return tensorBytes(model) >= LARGE_MODEL_BYTES ? withModelFile(model, open) : open(modelToBytes(model));
}

export const onnxruntime: Runtime = { name: 'onnxruntime', open: (model, options) => createSession(model, options) };

