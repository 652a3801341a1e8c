/** MatMul (numpy semantics, batched) and Gemm (2-D, optional transposes). */
import type { Dim } from '../ir/value.ts';
import { msKernel } from './contrib.ts';
import { broadcast } from './shape-math.ts';
import type { InferContext, LayerLayout, OpSpec } from './types.ts';

export function matmulShape(a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcast(a2.slice(0, -2), b2.slice(0, -2)) ?? [];
  const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

function inferGemm({ node, inputs }: InferContext) {
  const [a, b] = inputs;
  if (!a?.shape || !b?.shape || a.shape.length !== 2 || b.shape.length !== 2) return [{ dtype: a?.dtype, shape: undefined }];
  const m = node.getInt('transA', 0) ? a.shape[1] : a.shape[0];
  const n = node.getInt('transB', 0) ? b.shape[0] : b.shape[1];
  return [{ dtype: a.dtype, shape: [m, n] }];
}

/** A 2-D MatMul weight is [in, out]; the features of an activation are on its last axis. */
const MATMUL_LAYER: LayerLayout = {
  weight: (_node, rank) => (rank === 2 ? { outAxis: 1, inAxis: 0 } : undefined),
  inputChannelAxis: (_node, rank) => (rank === undefined ? -1 : rank - 1),
  outputChannelAxis: (rank) => rank - 1,
};

/** A Gemm weight is [in, out], or [out, in] with transB; its activations are 2-D [batch, features]. */
const GEMM_LAYER: LayerLayout = {
  weight: (node, rank) => (rank !== 2 ? undefined : node.getInt('transB', 0) ? { outAxis: 0, inAxis: 1 } : { outAxis: 1, inAxis: 0 }),
  inputChannelAxis: (node) => (node.getInt('transA', 0) ? 0 : 1),
  outputChannelAxis: () => 1,
};

export const MATMUL_OPS: OpSpec[] = [
  {
    op: 'MatMul',
    domain: '',
    category: 'matmul',
    infer: ({ inputs }) => [{ dtype: inputs[0]?.dtype, shape: matmulShape(inputs[0]?.shape, inputs[1]?.shape) }],
    weightInputs: [1],
    foldable: true,
    quant: 'weighted',
    qoperator: { op: 'QLinearMatMul', domain: '' },
    int8FloatOutput: true,
    layer: MATMUL_LAYER,
    dynamicInteger: 'MatMulInteger',
    // One scale per output column (the last axis); a 1-D weight has one in all.
    weightOnly: { inputs: [1], axis: (_node, rank) => (rank >= 2 ? rank - 1 : undefined) },
  },
  {
    op: 'Gemm',
    domain: '',
    category: 'matmul',
    infer: inferGemm,
    weightInputs: [1, 2],
    foldable: true,
    quant: 'weighted',
    qoperator: msKernel('QGemm'),
    int8FloatOutput: true,
    ortQuantizesWeight: true,
    layer: GEMM_LAYER,
    dynamicInteger: 'MatMulInteger',
    weightOnly: { inputs: [1], axis: (node) => (node.getInt('transB', 0) ? 0 : 1) },
  },
  {
    op: 'MatMulInteger',
    domain: '',
    category: 'matmul',
    infer: ({ inputs }) => [{ dtype: 'int32', shape: matmulShape(inputs[0]?.shape, inputs[1]?.shape) }],
    quantized: true,
  },
  { op: 'QLinearMatMul', domain: '', category: 'matmul', quantized: true },
];
