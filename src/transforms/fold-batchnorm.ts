/**
 * Folds an inference-mode BatchNormalization into the Conv or Gemm that feeds it:
 *   BN(y) = (y - mean) * s + beta,  s = gamma / sqrt(var + eps)
 * so W' = W * s per output channel and b' = (b - mean) * s + beta.
 */
import type { Graph } from '../ir/graph.ts';
import type { Node } from '../ir/node.ts';
import { Tensor } from '../ir/tensor.ts';

interface BnParams {
  scale: Float64Array;
  shift: Float64Array;
}

/** Per-channel scale and shift of a BN whose parameters are all constants. */
function bnParams(bn: Node, g: Graph): BnParams | undefined {
  const [gamma, beta, mean, variance] = bn.inputs.slice(1, 5).map((i) => g.initializers.get(i)?.toFloat32());
  if (!gamma || !beta || !mean || !variance) return undefined;
  const eps = bn.getFloat('epsilon', 1e-5);
  const scale = Float64Array.from(gamma, (v, c) => v / Math.sqrt(variance[c] + eps));
  const shift = Float64Array.from(beta, (b, c) => b - mean[c] * scale[c]);
  return { scale, shift };
}

/** Writes a new float32 initializer rather than mutating one other nodes may share. */
function putTensor(g: Graph, base: string, data: Float32Array, dims: number[]): string {
  const names = g.allNames();
  let name = `${base}_bnfolded`;
  for (let i = 1; names.has(name); i++) name = `${base}_bnfolded${i}`;
  g.addInitializer(Tensor.fromTyped(name, data, dims));
  return name;
}

function foldIntoConv(conv: Node, g: Graph, { scale, shift }: BnParams): boolean {
  const w = g.initializers.get(conv.inputs[1]);
  if (!w || w.dtype !== 'float32' || w.dims[0] !== scale.length) return false;
  const wv = w.toFloat32();
  const per = wv.length / scale.length;
  const nw = Float32Array.from(wv, (v, i) => v * scale[Math.floor(i / per)]);
  const b = conv.inputs[2] ? g.initializers.get(conv.inputs[2])?.toFloat32() : new Float32Array(scale.length);
  if (!b) return false;
  const nb = Float32Array.from(shift, (s, c) => b[c] * scale[c] + s);
  conv.inputs[1] = putTensor(g, w.name, nw, w.dims);
  conv.inputs[2] = putTensor(g, conv.inputs[2] || `${conv.name || conv.outputs[0]}_bias`, nb, [scale.length]);
  return true;
}

function foldIntoGemm(gemm: Node, g: Graph, { scale, shift }: BnParams): boolean {
  const w = g.initializers.get(gemm.inputs[1]);
  if (!w || w.dtype !== 'float32' || w.dims.length !== 2 || gemm.getInt('transA', 0)) return false;
  const transB = gemm.getInt('transB', 0) === 1;
  const out = transB ? w.dims[0] : w.dims[1];
  if (out !== scale.length) return false;
  const alpha = gemm.getFloat('alpha', 1);
  const beta = gemm.getFloat('beta', 1);
  const wv = w.toFloat32();
  const nw = Float32Array.from(wv, (v, i) => v * alpha * scale[transB ? Math.floor(i / w.dims[1]) : i % out]);
  const c = gemm.inputs[2] ? g.initializers.get(gemm.inputs[2]) : undefined;
  if (gemm.inputs[2] && (!c || (c.size !== 1 && c.size !== out))) return false; // a per-row C cannot fold
  const cv = c?.toFloat32();
  const nb = Float32Array.from(shift, (s, j) => beta * (cv ? cv[cv.length === 1 ? 0 : j] : 0) * scale[j] + s);
  gemm.inputs[1] = putTensor(g, w.name, nw, w.dims);
  gemm.inputs[2] = putTensor(g, c?.name ?? `${gemm.name || gemm.outputs[0]}_bias`, nb, [out]);
  gemm.removeAttr('alpha');
  gemm.removeAttr('beta');
  return true;
}

export function foldBatchNorms(root: Graph): number {
  let folded = 0;
  for (const g of root.walk()) {
    for (const bn of [...g.nodes]) {
      if (bn.opType !== 'BatchNormalization' || bn.domain !== '') continue;
      if (bn.outputs.slice(1).some(Boolean) || bn.getInt('training_mode', 0)) continue;
      const { producer, consumers } = g.index();
      const prev = producer.get(bn.inputs[0]);
      if (!prev || (prev.opType !== 'Conv' && prev.opType !== 'Gemm') || prev.domain !== '') continue;
      if (consumers.get(bn.inputs[0])?.length !== 1 || g.isGraphOutput(bn.inputs[0])) continue;
      const params = bnParams(bn, g);
      if (!params) continue;
      const ok = prev.opType === 'Conv' ? foldIntoConv(prev, g, params) : foldIntoGemm(prev, g, params);
      if (!ok) continue;
      prev.outputs[0] = bn.outputs[0];
      g.nodes = g.nodes.filter((n) => n !== bn);
      folded++;
    }
  }
  return folded;
}
