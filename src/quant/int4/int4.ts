/**
 * int4 block-wise weight-only quantization of a model's MatMul/Gemm weights: pick the
 * nodes, quantize each distinct weight once (round-to-nearest or GPTQ from calibration
 * Hessians), rewrite the graph in the chosen format, and check that onnxruntime runs it.
 */
import { quantizedNodes } from '../../ops/registry.ts';
import { InputError } from '../../errors.ts';
import type { Dataset } from '../../data/dataset.ts';
import type { Graph } from '../../ir/graph.ts';
import type { Model } from '../../ir/model.ts';
import { quantizeRtn, dequantizeBlockwise, type BlockQuantized, type Int4Scheme } from './block.ts';
import { MS_DOMAIN } from '../int8/emit.ts';
import { emitTarget, findTargets, weightMatrix, type EmitCache, type Int4Format, type Int4Target } from './emit.ts';
import { upgradeForFormat } from '../../transforms/upgrade-opset.ts';
import { runtimeCheck, STRUCTURE_CHECK_NOTE, type GivenInputs } from '../../runtime/check.ts';
import { collectHessians, hessianKey } from './hessians.ts';
import { capturableGraphs } from '../../runtime/capture.ts';
import { dropUnusedWeights } from '../../transforms/drop-unused-weights.ts';
import { hessianRelativeError, quantizeGptq } from './gptq.ts';
import type { HessianAccumulator } from './gptq-linalg.ts';
import { FreshNames } from '../../ir/names.ts';

/** Blocked DequantizeLinear with INT4/UINT4 needs opset 21 and IR version 10. */
const INT4_DQ_OPSET = 21;
const INT4_IR_VERSION = 10;

export type Int4Algorithm = 'rtn' | 'gptq';

export interface Int4Options {
  algorithm: Int4Algorithm;
  format: Int4Format;
  blockSize: number;
  scheme: Int4Scheme;
  /** MatMulNBits accuracy_level. */
  accuracyLevel: number;
  /** Calibration data (GPTQ). */
  calib?: Dataset;
  calibSamples: number;
  calibBatch: number;
  /** GPTQ dampening fraction. */
  damp: number;
  /** GPTQ: calibrate each layer on the model with the layers before it already quantized. */
  sequential: boolean;
  opTypes: ReadonlySet<string>;
  exclude: ReadonlySet<string>;
  progress?: (fraction: number, label?: string) => void;
  /** The caller loads and runs the result itself (see PassContext.outputRunByCaller): no runtime check here. */
  outputRunByCaller?: boolean;
  /** Inputs for that check's run (PassContext.shapes, .inputValues). */
  given?: GivenInputs;
}

export interface Int4Layer {
  /** Nodes reading the weight. */
  nodes: string[];
  weight: string;
  K: number;
  N: number;
  blockSize: number;
  algorithm: Int4Algorithm;
  /** Float32 bytes of the weight, and bytes of its int4 tensors (codes, scales, zero points). */
  bytesBefore: number;
  bytesAfter: number;
  /**
   * ‖X(W − Ŵ)‖² / ‖XW‖² on the calibration inputs (computed from the Hessian), for the
   * result and for round-to-nearest; GPTQ layers only.
   */
  calibError?: { result: number; rtn: number };
}

export interface Int4Result {
  layers: Int4Layer[];
  skipped: { node: string; reason: string }[];
  notes: string[];
  nodesQuantized: number;
}

export const INT4_BLOCK_SIZES = [32, 64, 128];

interface Group {
  key: string;
  targets: Int4Target[];
  /** Folded into the weight (alpha, for MatMulNBits); the float weight is read when quantized, one group at a time. */
  factor: number;
}

function groupTargets(targets: readonly Int4Target[], format: Int4Format): Group[] {
  const graphIds = new Map<Graph, number>();
  const groups = new Map<string, Group>();
  for (const t of targets) {
    if (!graphIds.has(t.graph)) graphIds.set(t.graph, graphIds.size);
    const factor = format === 'matmulnbits' ? t.alpha : 1;
    const key = `${graphIds.get(t.graph)}\u0000${t.weight}\u0000${t.kAxis}\u0000${factor}`;
    const g = groups.get(key);
    if (g) g.targets.push(t);
    else groups.set(key, { key, targets: [t], factor });
  }
  return [...groups.values()];
}

/** The row-weighted mean Hessian of a group's inputs; `hessianOf` shares each input's among groups (Q, K, V). */
function groupHessian(g: Group, hessians: ReadonlyMap<string, HessianAccumulator>, hessianOf: (a: HessianAccumulator) => Float64Array): Float64Array {
  const accs = [...new Set(g.targets.map((t) => hessians.get(hessianKey({ value: t.input, transA: t.transA }))!))];
  const rows = accs.reduce((s, a) => s + a.count, 0);
  const h = new Float64Array(g.targets[0]!.K ** 2);
  for (const a of accs) {
    const ha = hessianOf(a);
    for (let i = 0; i < h.length; i++) h[i] += (ha[i]! * a.count) / rows;
  }
  return h;
}

/** Quantizes a copy and adopts it only once onnxruntime runs it: a failure leaves `model` as it was. */
export async function quantizeModelInt4(model: Model, opts: Int4Options): Promise<Int4Result> {
  const work = model.clone();
  const result = await quantizeInPlace(work, opts);
  model.adopt(work);
  return result;
}

async function quantizeInPlace(model: Model, opts: Int4Options): Promise<Int4Result> {
  if (!INT4_BLOCK_SIZES.includes(opts.blockSize)) throw new InputError(`block size must be one of ${INT4_BLOCK_SIZES.join(', ')}, got ${opts.blockSize}`);
  if (opts.algorithm === 'gptq' && !opts.calib) throw new InputError('algorithm gptq needs calibration data (option calib)');
  if (opts.format === 'matmulnbits' && !(Number.isInteger(opts.accuracyLevel) && opts.accuracyLevel >= 0 && opts.accuracyLevel <= 4)) {
    throw new InputError(`accuracy level must be 0..4, got ${opts.accuracyLevel}`);
  }
  const notes: string[] = [];
  const { targets, skipped } = findTargets(model, { opTypes: opts.opTypes, exclude: opts.exclude, blockSize: opts.blockSize, format: opts.format });
  const result: Int4Result = { layers: [], skipped: skipped.map((s) => ({ node: s.node.label, reason: s.reason })), notes, nodesQuantized: 0 };
  for (const s of result.skipped) notes.push(`int4: kept ${s.node} in float: ${s.reason}`);
  if (targets.length === 0) {
    const q = quantizedNodes(model)[0];
    notes.push(q ? `int4: the model is already quantized (node ${q.label}); nothing is quantized twice` : 'int4: no MatMul/Gemm with a constant 2-D float32 weight to quantize');
    return result;
  }
  const upgrade = opts.format === 'dq' ? upgradeForFormat(model, INT4_DQ_OPSET, 'int4 format dq', 'blocked int4 DequantizeLinear', ' (format matmulnbits needs no upgrade)') : undefined;
  if (upgrade) notes.push(upgrade);
  const names = new FreshNames(model.graph);
  if (opts.format === 'dq') model.irVersion = Math.max(Number(model.irVersion), INT4_IR_VERSION);
  else if (!model.opsets.has(MS_DOMAIN)) model.opsets.set(MS_DOMAIN, 1);

  const groups = groupTargets(targets, opts.format);
  // Calibration reaches bodies of If/Loop/Scan (their values are carried out), not of other ops.
  const reachable = capturableGraphs(model);
  const gptqGroups = opts.algorithm === 'gptq' ? groups.filter((g) => g.targets.every((t) => reachable.has(t.graph))) : [];
  if (opts.algorithm === 'gptq' && gptqGroups.length < groups.length) {
    notes.push(`int4: ${groups.length - gptqGroups.length} weight(s) inside bodies of ops other than If/Loop/Scan quantized by round-to-nearest (calibration cannot reach them)`);
  }
  const cache: EmitCache = new Map();
  const done = new Set<Group>();
  const finish = (g: Group, q: BlockQuantized, algorithm: Int4Algorithm, error?: Int4Layer['calibError']) => {
    let bytesAfter = 0;
    for (const t of g.targets) bytesAfter += emitTarget(t, q, { format: opts.format, accuracyLevel: opts.accuracyLevel }, names, cache, g.key);
    const t0 = g.targets[0]!;
    result.layers.push({
      nodes: g.targets.map((t) => t.node.name || t.node.outputs[0]!),
      weight: t0.weight,
      K: t0.K,
      N: t0.N,
      blockSize: q.blockSize,
      algorithm,
      bytesBefore: t0.tensor.byteLength,
      bytesAfter,
      ...(error ? { calibError: error } : {}),
    });
    result.nodesQuantized += g.targets.length;
    done.add(g);
    opts.progress?.(done.size / groups.length, t0.weight);
  };

  // GPTQ: Hessians from calibration, all at once or input by input on the partly quantized model.
  const gptqSet = new Set(gptqGroups);
  const positions = new Map(model.graph.nodes.map((n, i) => [n, i]));
  const pending = [...gptqGroups].sort((a, b) => firstPosition(a, positions) - firstPosition(b, positions));
  while (pending.length > 0) {
    const batch = opts.sequential ? groupsSharingInputs(pending[0]!, pending) : [...pending];
    const requests = batch.flatMap((g) => g.targets.map((t) => ({ value: t.input, K: t.K, transA: t.transA })));
    const hessians = await collectHessians(model, requests, opts.calib!, { samples: opts.calibSamples, batchSize: opts.calibBatch });
    const perInput = new Map<HessianAccumulator, Float64Array>();
    const hessianOf = (a: HessianAccumulator) => perInput.get(a) ?? perInput.set(a, a.hessian()).get(a)!;
    for (const g of batch) {
      pending.splice(pending.indexOf(g), 1);
      if (g.targets.some((t) => hessians.get(hessianKey({ value: t.input, transA: t.transA }))!.count === 0)) {
        gptqSet.delete(g);
        notes.push(`int4: '${g.targets[0]!.weight}' quantized by round-to-nearest: the calibration data never ran it (an If branch not taken?)`);
        continue;
      }
      const h = groupHessian(g, hessians, hessianOf);
      const t0 = g.targets[0]!;
      const w = weightMatrix(t0, g.factor);
      const { quantized, damp } = quantizeGptq(w, t0.K, t0.N, h, { blockSize: t0.blockSize, scheme: opts.scheme, damp: opts.damp });
      if (damp !== opts.damp) notes.push(`int4: GPTQ on '${t0.weight}' needed dampening ${damp} (Hessian near singular)`);
      const rtn = quantizeRtn(w, t0.K, t0.N, t0.blockSize, opts.scheme);
      finish(g, quantized, 'gptq', { result: hessianRelativeError(h, w, dequantizeBlockwise(quantized), t0.K, t0.N), rtn: hessianRelativeError(h, w, dequantizeBlockwise(rtn), t0.K, t0.N) });
    }
  }
  // One buffer for every round-to-nearest weight (quantizeRtn keeps nothing of it).
  const rtnGroups = groups.filter((g) => !gptqSet.has(g));
  const scratch = new Float32Array(Math.max(0, ...rtnGroups.map((g) => g.targets[0]!.K * g.targets[0]!.N)));
  for (const g of rtnGroups) {
    const t0 = g.targets[0]!;
    finish(g, quantizeRtn(weightMatrix(t0, g.factor, scratch), t0.K, t0.N, t0.blockSize, opts.scheme), 'rtn');
  }
  dropUnusedWeights(model, targets.map((t) => t.weight));
  result.layers.sort((a, b) => a.weight.localeCompare(b.weight));

  const before = result.layers.reduce((s, l) => s + l.bytesBefore, 0);
  const after = result.layers.reduce((s, l) => s + l.bytesAfter, 0);
  notes.push(`int4 (${opts.algorithm}, ${opts.format}, block ${opts.blockSize}, ${opts.scheme}): ${result.layers.length} weight(s) in ${result.nodesQuantized} node(s), ${before} → ${after} bytes (${(after / before).toFixed(3)}×)`);
  const gptqLayers = result.layers.filter((l) => l.calibError);
  if (gptqLayers.length) {
    const ratio = gptqLayers.reduce((s, l) => s + (l.calibError!.rtn > 0 ? l.calibError!.result / l.calibError!.rtn : 1), 0) / gptqLayers.length;
    notes.push(`int4: GPTQ calibration output error is ${ratio.toFixed(3)}× round-to-nearest's (mean over ${gptqLayers.length} layer(s))`);
  }
  if (!opts.outputRunByCaller) {
    const kind = await runtimeCheck(model, `the int4 model (format ${opts.format})`, 'auto', { note: (m) => notes.push(m), given: opts.given });
    if (kind === 'structure') notes.push(STRUCTURE_CHECK_NOTE);
  }
  return result;
}

function firstPosition(g: Group, positions: ReadonlyMap<unknown, number>): number {
  return Math.min(...g.targets.map((t) => positions.get(t.node) ?? Infinity));
}

/** The pending groups reading any input the first one reads (e.g. Q, K and V projections). */
function groupsSharingInputs(first: Group, pending: readonly Group[]): Group[] {
  const inputs = new Set(first.targets.map((t) => hessianKey({ value: t.input, transA: t.transA })));
  return pending.filter((g) => g.targets.some((t) => inputs.has(hessianKey({ value: t.input, transA: t.transA }))));
}
