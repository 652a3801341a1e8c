/**
 * ONNX → TFLite. Works on a copy of the model: QDQ pairs become quantization parameters,
 * patterns fuse, shapes are fixed; then every node is checked (all problems reported at
 * once, before anything is written) and lowered in order, each in float or int8.
 */
import { InputError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import type { Node } from '../ir/node.ts';
import { TFLITE_OPS } from '../ops/tflite.ts';
import { Emitter, type ExportKind, type Mode } from './emitter.ts';
import { writeTflite } from './flatbuffer.ts';
import { NHWC, PLAIN } from './layout.ts';
import { LOWERINGS } from './lower/index.ts';
import type { Problem } from './lower/types.ts';
import type { TflModel, TflQuantization } from './model.ts';
import { concreteShapes, floatConstants, fuseActivations, fuseGelu, fuseMatMulBias, stripQdq } from './prepare.ts';

export interface ExportOptions {
  /** float32 (default), float16 weights, dynamic-range int8, or full int8 from a QDQ model. */
  kind?: ExportKind;
  /** Input/output type of a full-int8 export: 'float' (QUANTIZE/DEQUANTIZE inside, default) or 'int8'. */
  io?: 'float' | 'int8';
  /** Keep 4-D inputs/outputs in NCHW (a TRANSPOSE inside) instead of NHWC. Default false. */
  keepNchwIo?: boolean;
  /** Value for symbolic dimensions (the batch). Default 1. */
  batch?: number;
}

export interface IoInfo {
  name: string;
  /** The ONNX shape (batch fixed). */
  shape: number[];
  /** The shape the .tflite tensor has (NHWC for 4-D values kept channels-last). */
  tfliteShape: number[];
  layout: 'nhwc' | 'as-onnx';
  dtype: 'float32' | 'int8';
  quantization?: TflQuantization;
}

export interface ExportResult {
  bytes: Uint8Array;
  model: TflModel;
  inputs: IoInfo[];
  outputs: IoInfo[];
  /** Builtin operator → count. */
  operators: Record<string, number>;
  /** In a full-int8 export: nodes computed in float, and why. */
  floatNodes: { node: string; op: string; reason: string }[];
}

function label(n: Node): string {
  return n.name || `${n.opType}->${n.outputs[0]}`;
}

/** Converts `model` (unchanged) to a .tflite flatbuffer. Throws InputError listing every unsupported node. */
export async function exportTflite(model: Model, opts: ExportOptions = {}): Promise<ExportResult> {
  const kind = opts.kind ?? 'float32';
  const io = opts.io ?? 'float';
  const copy = model.clone();
  const graph = copy.graph;
  const opset = copy.opsets.get('') ?? 17;
  const { constants, raw } = floatConstants(graph);
  const shapes = concreteShapes(copy, opts.batch ?? 1);
  const qparams = stripQdq(graph, constants, raw);
  if (kind !== 'int8') qparams.clear();
  else if (qparams.size === 0) throw new InputError('int8 export needs a calibrated QDQ model (run `shrinkray quantize --calib … --activation-type int8` first)');
  fuseGelu(graph, constants);
  fuseMatMulBias(graph, constants);
  fuseActivations(graph, constants);
  const nodes = graph.nodes.filter((n) => !(n.opType === 'Constant' && constants.has(n.outputs[0]!)));

  // Refuse before writing anything: every offending node, with a reason code.
  const problems: string[] = [];
  const check = { constant: (n: string) => constants.get(n), shape: (n: string) => shapes.get(n), opset };
  for (const n of nodes) {
    const lowering = n.domain === '' || n.domain === 'ai.onnx' ? LOWERINGS[n.opType] : undefined;
    const found: Problem[] = !lowering || !TFLITE_OPS[n.opType] ? [{ code: 'unsupported-op', detail: `${n.domain ? `${n.domain}::` : ''}${n.opType} has no TFLite lowering` }] : (lowering.check?.(n, check) ?? []);
    if (n.subgraphs().length) found.push({ code: 'unsupported-op', detail: 'control flow' });
    for (const o of n.outputs) if (o && !shapes.has(o) && !found.length) found.push({ code: 'unsupported-attribute', detail: `shape of '${o}' is not static` });
    for (const p of found) problems.push(`${label(n)}: ${p.code}: ${p.detail}`);
  }
  if (problems.length) throw new InputError(`cannot export to TFLite: ${problems.length} problem(s): ${problems.join('; ')}`);

  const e = new Emitter(kind, shapes, constants, qparams);
  const users = (name: string) => nodes.filter((n) => n.inputs.includes(name));
  const inputs: number[] = [];
  const nhwcIo = new Set<number>();
  const graphInputs = graph.inputs.filter((v) => !graph.initializers.has(v.name));
  for (const v of graphInputs) {
    const shape = shapes.get(v.name);
    if (!shape) throw new InputError(`input '${v.name}' has no static shape`);
    const nhwc = !opts.keepNchwIo && shape.length === 4 && users(v.name).some((n) => TFLITE_OPS[n.opType]?.layout === 'nhwc');
    const mode: Mode = io === 'int8' && qparams.has(v.name) ? 'int8' : 'float';
    inputs.push(e.define(v.name, mode, nhwc ? NHWC : PLAIN));
    if (nhwc) nhwcIo.add(inputs[inputs.length - 1]!);
  }

  const floatNodes: ExportResult['floatNodes'] = [];
  for (const n of nodes) {
    const mode = modeOf(n, kind, (name) => constants.has(name), (name) => qparams.has(name), floatNodes);
    const lowering = LOWERINGS[n.opType]!;
    try {
      lowering.lower({ e, node: n, mode, opset, constant: (i) => constants.get(n.inputs[i] ?? '') });
    } catch (err) {
      throw new InputError(`cannot export node ${label(n)} (${n.opType}) to TFLite: ${(err as Error).message}`, { cause: err });
    }
  }

  const outputs = graph.outputs.map((v) => {
    const mode: Mode = io === 'int8' && qparams.has(v.name) ? 'int8' : 'float';
    const layout = e.layoutOf(v.name);
    const keepNhwc = layout.kind === 'nhwc' && !opts.keepNchwIo;
    const index = keepNhwc || layout.kind === 'plain' ? e.read(v.name, mode) : e.readAs(v.name, mode, 'plain');
    if (keepNhwc) nhwcIo.add(index);
    e.rename(index, v.name);
    return index;
  });
  const tfl: TflModel = { description: `shrinkray ${kind} export`, tensors: e.tensors, inputs, outputs, operators: e.operators };
  const info = (index: number, name: string): IoInfo => {
    const t = e.tensors[index]!;
    return { name, shape: shapes.get(name)!, tfliteShape: t.shape, layout: nhwcIo.has(index) ? 'nhwc' : 'as-onnx', dtype: t.type === 'INT8' ? 'int8' : 'float32', ...(t.quantization ? { quantization: t.quantization } : {}) };
  };
  const operators: Record<string, number> = {};
  for (const op of e.operators) operators[op.op] = (operators[op.op] ?? 0) + 1;
  return {
    bytes: writeTflite(tfl),
    model: tfl,
    inputs: inputs.map((i, k) => info(i, graphInputs[k]!.name)),
    outputs: outputs.map((i, k) => info(i, graph.outputs[k]!.name)),
    operators,
    floatNodes,
  };
}

/** int8 when the export is full int8, the op has an int8 kernel and every activation it reads and writes has parameters. */
function modeOf(n: Node, kind: ExportKind, isConst: (name: string) => boolean, hasQ: (name: string) => boolean, floatNodes: ExportResult['floatNodes']): Mode {
  if (kind !== 'int8') return 'float';
  if (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') return 'float';
  const why = (reason: string): Mode => {
    floatNodes.push({ node: label(n), op: n.opType, reason });
    return 'float';
  };
  if (!TFLITE_OPS[n.opType]?.int8) return why('no int8 TFLite kernel for this lowering');
  const missingIn = n.inputs.filter((i) => i && !isConst(i) && !hasQ(i));
  if (missingIn.length) return why(`input '${missingIn[0]}' has no quantization parameters in the QDQ model`);
  const missingOut = n.outputs.filter((o, i) => o && i === 0 && !hasQ(o));
  if (missingOut.length) return why(`output '${missingOut[0]}' has no quantization parameters in the QDQ model`);
  return 'int8';
}
