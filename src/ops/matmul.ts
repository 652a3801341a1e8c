/** MatMul (numpy semantics, batched) and Gemm (2-D, optional transposes). */
import type { Dim } from '../ir/value.ts';
import { broadcast } from './shape-math.ts';
import type { InferContext, OpSpec } from './types.ts';

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

export const MATMUL_OPS: OpSpec[] = [
  {
    op: 'MatMul',
    domain: '',
    category: 'matmul',
    infer: ({ inputs }) => [{ dtype: inputs[0]?.dtype, shape: matmulShape(inputs[0]?.shape, inputs[1]?.shape) }],
    weightInputs: [1],
    foldable: true,
  },
  { op: 'Gemm', domain: '', category: 'matmul', infer: inferGemm, weightInputs: [1, 2], foldable: true },
  {
    op: 'MatMulInteger',
    domain: '',
    category: 'matmul',
    infer: ({ inputs }) => [{ dtype: 'int32', shape: matmulShape(inputs[0]?.shape, inputs[1]?.shape) }],
  },
  { op: 'QLinearMatMul', domain: '', category: 'matmul' },
  { op: 'MatMulNBits', domain: 'com.microsoft', category: 'matmul' },
];
