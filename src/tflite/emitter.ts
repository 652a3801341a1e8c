/**
 * The state of one export: the TFLite tensors and operators written so far, and for every
 * ONNX value the tensor(s) that hold it (float and/or int8, in its layout). Lowerings ask
 * for inputs in the type and layout they need; conversions (QUANTIZE, DEQUANTIZE, TRANSPOSE,
 * RESHAPE) are emitted once per value and reused.
 */
import { toHalf } from '../math/float16.ts';
import { tfliteOpVersion, type TflElement, type TflOpSignature } from '../ops/tflite.ts';
import { NHWC, PLAIN, TO_NCHW, TO_NHWC, storedShape, type Layout } from './layout.ts';
import type { TflOperator, TflOptions, TflOpName, TflTensor, TflTensorType } from './model.ts';
import { quantizeAsymmetric, quantizeSymmetric, type QParams } from './quant.ts';

/** float32; float16 weights; dynamic-range int8 (int8 weights, float activations); full int8 from a QDQ model. */
export type ExportKind = 'float32' | 'float16' | 'dynamic' | 'int8';
/** How one node computes: on float tensors or on int8 tensors. */
export type Mode = 'float' | 'int8';

/** A constant as the exporter sees it: float values, and the int8/int32 values a QDQ model stored. */
export interface ConstValue {
  data: Float32Array;
  dims: number[];
  quant?: { q: Int8Array | Int32Array; params: QParams };
}

interface ValueState {
  /** ONNX shape (concrete). */
  shape: number[];
  layout: Layout;
  float?: number;
  int8?: number;
}

const ELEMENT: Record<string, TflElement> = { FLOAT32: 'float32', FLOAT16: 'float16', INT8: 'int8', INT32: 'int32', INT64: 'int64' };

export class Emitter {
  readonly tensors: TflTensor[] = [];
  readonly operators: TflOperator[] = [];
  private readonly values = new Map<string, ValueState>();
  private readonly variants = new Map<string, number>();
  private readonly names = new Set<string>();

  constructor(
    readonly kind: ExportKind,
    /** ONNX shapes of every value, batch fixed. */
    readonly shapes: ReadonlyMap<string, number[]>,
    readonly constants: ReadonlyMap<string, ConstValue>,
    /** Activation quantization parameters (from the QDQ model), keyed by value name. */
    readonly qparams: ReadonlyMap<string, QParams>,
  ) {}

  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  addTensor(t: TflTensor): number {
    t.name = this.uniqueName(t.name);
    return this.tensors.push(t) - 1;
  }

  shapeOf(name: string): number[] {
    const s = this.shapes.get(name) ?? this.constants.get(name)?.dims;
    if (!s) throw new Error(`no shape known for '${name}'`);
    return s;
  }

  layoutOf(name: string): Layout {
    return this.values.get(name)?.layout ?? PLAIN;
  }

  isConstant(name: string): boolean {
    return this.constants.has(name) && !this.values.has(name);
  }

  /** Writes an operator; its version follows from the types of its tensors. */
  emit(op: TflOpName, inputs: number[], outputs: number[], options?: TflOptions, sig: Partial<TflOpSignature> = {}): void {
    const used = inputs.filter((i) => i >= 0).map((i) => this.tensors[i]!);
    const outs = outputs.map((i) => this.tensors[i]!);
    const shapes = used.map((t) => t.shape.join(','));
    const signature: TflOpSignature = {
      inputs: used.map((t) => ELEMENT[t.type]!),
      outputs: outs.map((t) => ELEMENT[t.type]!),
      ranks: used.map((t) => t.shape.length),
      broadcast: shapes.length > 1 && shapes.some((s) => s !== shapes[0]),
      ...sig,
    };
    this.operators.push({ op, version: tfliteOpVersion(op, signature), inputs, outputs, ...(options ? { options } : {}) });
  }

  /** A new activation tensor for value `name`, produced in `mode` and `layout`. */
  define(name: string, mode: Mode, layout: Layout, q?: QParams): number {
    const shape = this.shapeOf(name);
    const params = mode === 'int8' ? (q ?? this.qparams.get(name)) : undefined;
    if (mode === 'int8' && !params) throw new Error(`value '${name}' has no quantization parameters`);
    const index = this.addTensor({ name, shape: storedShape(shape, layout), type: mode === 'int8' ? 'INT8' : 'FLOAT32', ...(params ? { quantization: params } : {}) });
    const state = this.values.get(name) ?? { shape, layout };
    state.layout = layout;
    state[mode] = index;
    this.values.set(name, state);
    return index;
  }

  /** Binds an existing tensor as value `name` (graph inputs, aliases). */
  bind(name: string, mode: Mode, layout: Layout, index: number): void {
    this.values.set(name, { shape: this.shapeOf(name), layout, [mode]: index });
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** The tensor holding `name` in `mode` (converting with QUANTIZE/DEQUANTIZE if needed), in its current layout. */
  read(name: string, mode: Mode): number {
    const v = this.values.get(name);
    if (!v) {
      const c = this.constants.get(name);
      if (!c) throw new Error(`value '${name}' is read before it is written`);
      return this.constant(name, c, mode, PLAIN);
    }
    const have = v[mode];
    if (have !== undefined) return have;
    const key = `${name}|${mode}|${v.layout.kind}`;
    const cached = this.variants.get(key);
    if (cached !== undefined) return cached;
    let index: number;
    const shape = storedShape(v.shape, v.layout);
    if (mode === 'int8') {
      const q = this.qparams.get(name);
      if (!q) throw new Error(`value '${name}' has no quantization parameters`);
      index = this.addTensor({ name: `${name}/int8`, shape, type: 'INT8', quantization: q });
      this.emit('QUANTIZE', [v.float!], [index]);
    } else {
      index = this.addTensor({ name: `${name}/float`, shape, type: 'FLOAT32' });
      this.emit('DEQUANTIZE', [v.int8!], [index]);
    }
    this.variants.set(key, index);
    return index;
  }

  /** The tensor holding `name` in `mode` and in layout `want` ('nhwc' for rank 4, or 'plain'). */
  readAs(name: string, mode: Mode, want: 'nhwc' | 'plain'): number {
    const v = this.values.get(name);
    if (!v) {
      const c = this.constants.get(name);
      if (!c) throw new Error(`value '${name}' is read before it is written`);
      return this.constant(name, c, mode, want === 'nhwc' && c.dims.length === 4 ? NHWC : PLAIN);
    }
    const index = this.read(name, mode);
    if (v.layout.kind === want) return index;
    const key = `${name}|${mode}|as-${want}`;
    const cached = this.variants.get(key);
    if (cached !== undefined) return cached;
    const src = this.tensors[index]!;
    const out = this.addTensor({ name: `${name}/${want === 'nhwc' ? 'nhwc' : 'nchw'}`, shape: storedShape(v.shape, want === 'nhwc' ? NHWC : PLAIN), type: src.type, ...(src.quantization ? { quantization: src.quantization } : {}) });
    const layout = v.layout;
    if (layout.kind === 'hwc') {
      // [N, h·w·c] → [N, h, w, c] → [N, c, h, w] → [N, c·h·w]
      const n = v.shape[0]!;
      const a = this.addTensor({ name: `${name}/hwc4`, shape: [n, layout.h, layout.w, layout.c], type: src.type, ...(src.quantization ? { quantization: src.quantization } : {}) });
      this.reshape(index, a);
      const b = this.addTensor({ name: `${name}/chw4`, shape: [n, layout.c, layout.h, layout.w], type: src.type, ...(src.quantization ? { quantization: src.quantization } : {}) });
      this.transpose(a, b, TO_NCHW);
      this.reshape(b, out);
    } else {
      const [, c, h, w] = v.shape as [number, number, number, number];
      // When C or H·W is 1, NCHW and NHWC hold the same bytes: a RESHAPE is enough.
      if (c === 1 || h * w === 1) this.reshape(index, out);
      else this.transpose(index, out, want === 'nhwc' ? TO_NHWC : TO_NCHW);
    }
    this.variants.set(key, out);
    return out;
  }

  reshape(input: number, output: number): void {
    const shape = this.tensors[output]!.shape;
    const s = this.int32Const('shape', shape);
    this.emit('RESHAPE', [input, s], [output], { name: 'ReshapeOptions', fields: [{ slot: 0, kind: 'int32s', value: shape }] });
  }

  transpose(input: number, output: number, perm: readonly number[]): void {
    this.emit('TRANSPOSE', [input, this.int32Const('perm', perm)], [output], { name: 'TransposeOptions', fields: [] });
  }

  int32Const(name: string, values: readonly number[], shape: number[] = [values.length]): number {
    return this.addTensor({ name, shape, type: 'INT32', data: bytesOf(Int32Array.from(values)) });
  }

  float32Const(name: string, data: Float32Array, shape: number[]): number {
    return this.addTensor({ name, shape, type: 'FLOAT32', data: bytesOf(data) });
  }

  /** A constant read as an activation (elementwise operand): float32/float16, or int8 asymmetric per tensor. */
  constant(name: string, c: ConstValue, mode: Mode, layout: Layout, data = c.data, dims = c.dims): number {
    const shape = storedShape(dims, layout);
    if (mode === 'int8') {
      const { q, params } = quantizeAsymmetric(data);
      return this.addTensor({ name, shape, type: 'INT8', data: bytesOf(q), quantization: params });
    }
    return this.floatWeight(name, data, shape);
  }

  /** A float weight: float32, or float16 + DEQUANTIZE in a float16 export. */
  floatWeight(name: string, data: Float32Array, shape: number[]): number {
    if (this.kind !== 'float16' || data.length < 16) return this.float32Const(name, data, shape);
    const half = toHalf(data);
    const h = this.addTensor({ name: `${name}/fp16`, shape, type: 'FLOAT16', data: bytesOf(half) });
    const f = this.addTensor({ name, shape, type: 'FLOAT32' });
    this.emit('DEQUANTIZE', [h], [f]);
    return f;
  }

  /**
   * A weight already in its TFLite layout, for an op in `mode`: int8 symmetric (per axis
   * `axis` when `perAxis`) for int8 ops and hybrid ones, else float.
   */
  weight(name: string, data: Float32Array, shape: number[], opts: { int8: boolean; axis: number; perAxis: boolean; stored?: { q: Int8Array; params: QParams } }): { index: number; scales?: number[] } {
    if (!opts.int8) return { index: this.floatWeight(name, data, shape) };
    const { q, params } = opts.stored ?? quantizeSymmetric(data, shape, opts.axis, opts.perAxis);
    const quantization = params.scale.length > 1 ? { ...params, axis: opts.axis } : { scale: params.scale, zeroPoint: params.zeroPoint };
    return { index: this.addTensor({ name, shape, type: 'INT8', data: bytesOf(q), quantization }), scales: params.scale };
  }

  /** Renames tensor `index` to `name`, moving any tensor already called so out of the way. */
  rename(index: number, name: string): void {
    const t = this.tensors[index]!;
    if (t.name === name) return;
    const other = this.tensors.find((x) => x.name === name);
    if (other) other.name = this.uniqueName(`${name}/internal`);
    t.name = name;
  }

  typeOf(index: number): TflTensorType {
    return this.tensors[index]!.type;
  }
}

/** The bytes of a constant's values, as a view: the flatbuffer writer copies them once, into the file's buffer. */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
