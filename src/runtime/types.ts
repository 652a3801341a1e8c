/**
 * The one runtime interface. Anything that executes an ONNX graph — onnxruntime for
 * inference and checks, the tfjs executor for training — opens a model into a
 * `GraphSession`, so accuracy, calibration and distillation code can run a graph on either.
 * Tensors cross the boundary as plain typed arrays, never as a runtime's own tensor type.
 */
import type { Model } from '../ir/model.ts';
import type { DType, TypedArray } from '../onnx/dtype.ts';

/** A tensor on the host: row-major data (16-bit floats as raw bits) and its dims. */
export interface HostTensor {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TypedArray;
}

/** A graph input or output as the runtime sees it; symbolic or unknown dims are strings ('' unnamed). */
export interface ValueSpec {
  readonly name: string;
  /** undefined for non-tensor values (sequences, maps, optionals). */
  readonly dtype: DType | undefined;
  readonly shape: readonly (number | string)[] | undefined;
}

export interface GraphSession {
  /** Names the model in error messages. */
  readonly label: string;
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  /** One run; `fetches` limits what is computed and returned (default: every graph output). */
  run(feeds: Readonly<Record<string, HostTensor>>, fetches?: readonly string[]): Promise<Record<string, HostTensor>>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Names an in-memory model in error messages; a path names itself. */
  label?: string;
  /** Intra-op threads; 0 or absent lets the runtime choose. */
  threads?: number;
}

export interface Runtime {
  readonly name: string;
  open(model: Model | string, options?: OpenOptions): Promise<GraphSession>;
}
