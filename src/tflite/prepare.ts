/**
 * Readies a copy of the model for lowering: fixes the batch size, turns QDQ pairs into
 * quantization parameters (activations) and stored int8/int32 values (weights, biases),
 * fuses patterns TFLite has one op for (erf GELU, MatMul + bias), and computes every
 * value's concrete shape.
 */
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import { Node } from '../ir/node.ts';
import type { Tensor } from '../ir/tensor.ts';
import { constantValues, inferShapes } from '../ops/infer.ts';
import type { ConstValue } from './emitter.ts';
import { resizeShape } from './lower/resize.ts';
import { dequantize, FIXED_OUTPUT, type QParams } from './quant.ts';
import { ValueInfo } from '../ir/value.ts';

export interface Prepared {
  constants: Map<string, ConstValue>;
  qparams: Map<string, QParams>;
  shapes: Map<string, number[]>;
}

/** Ops whose int8 output must keep the input's scale and zero point in TFLite. */
const SHARED_SCALE = new Set(['MaxPool', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Pad', 'Slice', 'Identity', 'Dropout', 'GlobalMaxPool']);

function toFloat(t: Tensor): Float32Array {
  return t.toFloat32();
}

function scalarOrVector(t: Tensor | undefined): number[] {
  return t ? Array.from(t.toFloat32()) : [0];
}

function consumersOf(graph: Graph, name: string): Node[] {
  return graph.nodes.filter((n) => n.inputs.includes(name));
}

function renameValue(graph: Graph, from: string, to: string): void {
  for (const n of graph.nodes) {
    n.inputs = n.inputs.map((i) => (i === from ? to : i));
    n.outputs = n.outputs.map((o) => (o === from ? to : o));
  }
}

/** Removes QuantizeLinear/DequantizeLinear pairs, returning activation parameters and stored constants. */
export function stripQdq(graph: Graph, constants: Map<string, ConstValue>, raw: Map<string, Tensor>): Map<string, QParams> {
  const qparams = new Map<string, QParams>();
  const drop = new Set<Node>();
  // Dequantized constants (weights, biases, other stored constants).
  for (const n of graph.nodes) {
    if (n.opType !== 'DequantizeLinear' || !raw.has(n.inputs[0]!)) continue;
    const x = raw.get(n.inputs[0]!)!;
    const scale = scalarOrVector(raw.get(n.inputs[1]!));
    let zp = scalarOrVector(n.inputs[2] ? raw.get(n.inputs[2]) : undefined);
    let q: Int8Array | Int32Array;
    if (x.dtype === 'uint8') {
      q = Int8Array.from(x.typed() as Uint8Array, (v) => v - 128);
      zp = zp.map((z) => z - 128);
    } else if (x.dtype === 'int8') q = x.typed() as Int8Array;
    else if (x.dtype === 'int32') q = x.typed() as Int32Array;
    else continue;
    const axis = scale.length > 1 ? ((n.getInt('axis', 1) + x.dims.length) % x.dims.length) : undefined;
    const params: QParams = { scale, zeroPoint: zp.length === scale.length ? zp : new Array(scale.length).fill(zp[0]), ...(axis !== undefined ? { axis } : {}) };
    constants.set(n.outputs[0]!, { data: dequantize(q, x.dims, params), dims: [...x.dims], quant: { q, params } });
    drop.add(n);
  }
  // Activation pairs: x → QuantizeLinear → DequantizeLinear → uses.
  for (const qn of graph.nodes) {
    if (qn.opType !== 'QuantizeLinear' || drop.has(qn)) continue;
    const dqs = consumersOf(graph, qn.outputs[0]!);
    if (dqs.length === 0 || dqs.some((d) => d.opType !== 'DequantizeLinear') || graph.isGraphOutput(qn.outputs[0]!)) continue;
    const scale = scalarOrVector(raw.get(qn.inputs[1]!));
    const zpT = qn.inputs[2] ? raw.get(qn.inputs[2]) : undefined;
    if (scale.length !== 1) continue;
    const zp = scalarOrVector(zpT)[0]! - (zpT?.dtype === 'uint8' || !zpT ? 128 : 0);
    let x = qn.inputs[0]!;
    for (const d of dqs) {
      const out = d.outputs[0]!;
      if (graph.isGraphOutput(out) && !graph.inputs.some((v) => v.name === x)) {
        renameValue(graph, x, out);
        qparams.delete(x);
        x = out;
      } else graph.replaceUses(out, x);
      drop.add(d);
    }
    qparams.set(x, { scale, zeroPoint: [zp] });
    drop.add(qn);
  }
  graph.nodes = graph.nodes.filter((n) => !drop.has(n));
  for (const n of graph.nodes) {
    const q0 = qparams.get(n.inputs[0] ?? '');
    if (SHARED_SCALE.has(n.opType) && q0) qparams.set(n.outputs[0]!, q0);
    const fixed = FIXED_OUTPUT[n.opType];
    if (fixed && qparams.has(n.outputs[0]!)) qparams.set(n.outputs[0]!, fixed);
  }
  return qparams;
}

function near(c: ConstValue | undefined, v: number, tol = 1e-4): boolean {
  return !!c && c.data.length === 1 && Math.abs(c.data[0]! - v) <= tol;
}

/** x·½·(1 + erf(x/√2)) in its usual spellings → one Gelu node. */
export function fuseGelu(graph: Graph, constants: Map<string, ConstValue>): number {
  let fused = 0;
  const single = (name: string) => {
    const c = consumersOf(graph, name);
    return c.length === 1 && !graph.isGraphOutput(name) ? c[0] : undefined;
  };
  const other = (n: Node, name: string) => n.inputs.find((i) => i !== name) ?? name;
  for (const erf of [...graph.nodes]) {
    if (erf.opType !== 'Erf') continue;
    const div = graph.nodes.find((n) => n.outputs[0] === erf.inputs[0]);
    if (!div || !((div.opType === 'Div' && near(constants.get(div.inputs[1]!), Math.SQRT2)) || (div.opType === 'Mul' && near(constants.get(div.inputs[1]!), Math.SQRT1_2)))) continue;
    const x = div.inputs[0]!;
    const add = single(erf.outputs[0]!);
    if (!add || add.opType !== 'Add' || !near(constants.get(other(add, erf.outputs[0]!)), 1)) continue;
    const mul = single(add.outputs[0]!);
    if (!mul || mul.opType !== 'Mul') continue;
    const h = other(mul, add.outputs[0]!);
    const half = graph.nodes.find((n) => n.outputs[0] === h);
    let last: Node;
    const removed = [div, erf, add, mul];
    if (half && half.opType === 'Mul' && half.inputs.includes(x) && near(constants.get(other(half, x)), 0.5) && single(h) === mul) {
      last = mul;
      removed.push(half);
    } else if (h === x) {
      const m2 = single(mul.outputs[0]!);
      if (!m2 || m2.opType !== 'Mul' || !near(constants.get(other(m2, mul.outputs[0]!)), 0.5)) continue;
      last = m2;
      removed.push(m2);
    } else continue;
    if (single(div.outputs[0]!) !== erf) continue;
    const gelu = new Node('Gelu', [x], [last.outputs[0]!], `${last.name || last.outputs[0]}/gelu`);
    const at = graph.nodes.indexOf(last);
    graph.nodes.splice(at, 1, gelu);
    graph.nodes = graph.nodes.filter((n) => n === gelu || !removed.includes(n));
    fused++;
  }
  return fused;
}

/** MatMul with a constant [K, N] weight followed by a bias Add → MatMul with the bias as a third input. */
export function fuseMatMulBias(graph: Graph, constants: Map<string, ConstValue>): number {
  let fused = 0;
  for (const mm of [...graph.nodes]) {
    if (mm.opType !== 'MatMul' || mm.inputs.length !== 2) continue;
    const w = constants.get(mm.inputs[1]!);
    if (!w || w.dims.length !== 2 || graph.isGraphOutput(mm.outputs[0]!)) continue;
    const users = consumersOf(graph, mm.outputs[0]!);
    const add = users.length === 1 && users[0]!.opType === 'Add' ? users[0]! : undefined;
    if (!add) continue;
    const biasName = add.inputs.find((i) => i !== mm.outputs[0]);
    const b = biasName ? constants.get(biasName) : undefined;
    if (!b || b.data.length !== w.dims[1] || b.dims.slice(0, -1).some((d) => d !== 1)) continue;
    mm.inputs = [mm.inputs[0]!, mm.inputs[1]!, biasName!];
    mm.outputs = [...add.outputs];
    graph.nodes = graph.nodes.filter((n) => n !== add);
    fused++;
  }
  return fused;
}

/** TFLite's fused activation codes (ActivationFunctionType) for the activations it can fuse. */
export const FUSED_ACTIVATION = { RELU: 1, RELU6: 3 } as const;
const FUSES_INTO = new Set(['Conv', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul']);

/**
 * Relu / Clip(0, 6) right after a Conv, FULLY_CONNECTED-bound Gemm/MatMul or a binary op
 * (its only reader) → the producer's fused activation (attribute `tflite_activation`).
 */
export function fuseActivations(graph: Graph, constants: Map<string, ConstValue>): number {
  let fused = 0;
  for (const act of [...graph.nodes]) {
    let kind: keyof typeof FUSED_ACTIVATION | undefined;
    if (act.opType === 'Relu') kind = 'RELU';
    else if (act.opType === 'Clip') {
      const lo = act.attr('min') ? act.getFloat('min', -Infinity) : act.inputs[1] ? constants.get(act.inputs[1])?.data[0] : -Infinity;
      const hi = act.attr('max') ? act.getFloat('max', Infinity) : act.inputs[2] ? constants.get(act.inputs[2])?.data[0] : Infinity;
      if (lo === 0 && hi === 6) kind = 'RELU6';
      else if (lo === 0 && hi === Infinity) kind = 'RELU';
    }
    if (!kind) continue;
    const x = act.inputs[0]!;
    const producer = graph.nodes.find((n) => n.outputs[0] === x);
    if (!producer || !FUSES_INTO.has(producer.opType) || producer.attr('tflite_activation') || graph.isGraphOutput(x) || consumersOf(graph, x).length !== 1) continue;
    if (producer.opType === 'MatMul' && !constants.has(producer.inputs[1]!)) continue;
    producer.setAttr('tflite_activation', FUSED_ACTIVATION[kind]);
    producer.outputs = [act.outputs[0]!];
    graph.nodes = graph.nodes.filter((n) => n !== act);
    fused++;
  }
  return fused;
}

/** Every value's concrete shape, with symbolic input dims set to `batch`. */
export function concreteShapes(model: Model, batch: number): Map<string, number[]> {
  for (const v of model.graph.inputs) {
    if (v.type?.shape) v.type.shape = v.type.shape.map((d) => (typeof d === 'number' && d > 0 ? d : batch));
  }
  const constants = constantValues(model.graph);
  const constant = (name: string) => {
    const t = constants.get(name);
    return t ? { data: t.toFloat32(), dims: t.dims } : undefined;
  };
  let shapes = new Map<string, number[]>();
  // Ops the shape table does not know (Resize) get their shape here, then inference runs again.
  for (let round = 0; round < 3; round++) {
    const types = inferShapes(model);
    shapes = new Map();
    for (const [name, t] of types) if (t.shape && t.shape.every((d) => typeof d === 'number')) shapes.set(name, t.shape as number[]);
    let added = 0;
    for (const n of model.graph.nodes) {
      const x = shapes.get(n.inputs[0] ?? '');
      if (!x || !n.outputs[0] || shapes.has(n.outputs[0])) continue;
      const s = extraShape(n, x, constant) ?? declaredOutput(model, n.outputs[0]);
      if (!s) continue;
      model.graph.valueInfo = model.graph.valueInfo.filter((v) => v.name !== n.outputs[0]);
      model.graph.valueInfo.push(new ValueInfo(n.outputs[0]!, { dtype: 'float32', shape: s }));
      added++;
    }
    if (!added) break;
  }
  return shapes;
}

function declaredOutput(model: Model, name: string): number[] | undefined {
  const d = model.graph.outputs.find((v) => v.name === name)?.type?.shape;
  return d && d.every((x) => typeof x === 'number' && x > 0) ? (d as number[]) : undefined;
}

/** Shapes of ops the shared shape table does not infer (yet): Resize, Pad, Slice, ConvTranspose. */
function extraShape(n: Node, x: number[], constant: (name: string) => { data: Float32Array; dims: number[] } | undefined): number[] | undefined {
  const rank = x.length;
  const ints = (i: number, attr: string) => n.getInts(attr) ?? (n.inputs[i] ? (constant(n.inputs[i]!) ? Array.from(constant(n.inputs[i]!)!.data) : undefined) : undefined);
  switch (n.opType) {
    case 'Resize':
      return resizeShape(n, x, constant);
    case 'Pad': {
      const pads = ints(1, 'pads');
      return pads && pads.length === 2 * rank && !n.inputs[3] ? x.map((d, i) => d + pads[i]! + pads[i + rank]!) : undefined;
    }
    case 'Slice': {
      const starts = ints(1, 'starts');
      const ends = ints(2, 'ends');
      if (!starts || !ends) return undefined;
      const axes = ints(3, 'axes') ?? starts.map((_, i) => i);
      const steps = (n.inputs[4] ? ints(4, 'steps') : undefined) ?? starts.map(() => 1);
      const out = [...x];
      for (let i = 0; i < axes.length; i++) {
        const a = axes[i]! < 0 ? axes[i]! + rank : axes[i]!;
        const clamp = (v: number) => Math.max(0, Math.min(x[a]!, v < 0 ? v + x[a]! : v));
        if (steps[i]! <= 0) return undefined;
        out[a] = Math.max(0, Math.ceil((clamp(ends[i]!) - clamp(starts[i]!)) / steps[i]!));
      }
      return out;
    }
    case 'ConvTranspose': {
      const tw = constant(n.inputs[1]!)?.dims;
      const explicit = n.getInts('output_shape');
      if (!tw || rank !== 4) return undefined;
      const k = n.getInts('kernel_shape') ?? tw.slice(2);
      const s = n.getInts('strides') ?? [1, 1];
      const p = n.getInts('pads') ?? [0, 0, 0, 0];
      const op = n.getInts('output_padding') ?? [0, 0];
      const c = tw[1]! * n.getInt('group', 1);
      if (explicit) return [x[0]!, c, ...explicit.slice(-2)];
      return [x[0]!, c, ...[0, 1].map((i) => (x[2 + i]! - 1) * s[i]! + k[i]! + op[i]! - p[i]! - p[i + 2]!)];
    }
    default:
      return undefined;
  }
}

/** Constants visible to the graph as float values. */
export function floatConstants(graph: Graph): { constants: Map<string, ConstValue>; raw: Map<string, Tensor> } {
  const raw = constantValues(graph);
  const constants = new Map<string, ConstValue>();
  for (const [name, t] of raw) {
    if (t.payload.kind === 'strings') continue;
    try {
      constants.set(name, { data: toFloat(t), dims: [...t.dims] });
    } catch {
      // dtypes without a float view (int4 …) are not constants the exporter can use
    }
  }
  return { constants, raw };
}
