/**
 * MatMul(A, W) + C → Gemm(A, W, C) when A is 2-D and W, C are constants (onnx/optimizer's
 * fuse_matmul_add_bias_into_gemm). The float result is the same; the point is what comes
 * after: a Gemm's bias is quantized to int32 with the layer, and onnxruntime then runs it as
 * one QGemm, while it fuses a quantized MatMul + Add into a float Gemm of dequantized weights.
 */
import type { Model } from '../ir/model.ts';
import { Node } from '../ir/node.ts';
import { inferShapes } from '../ops/infer.ts';

const isOnnx = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';

export function fuseMatMulAdd(model: Model): number {
  const g = model.graph;
  if ((model.opsets.get('') ?? 0) < 7) return 0; // Gemm broadcasts C from opset 7
  const types = inferShapes(model);
  const { consumers } = g.index();
  const constant2d = (name: string) => {
    const t = g.initializers.get(name);
    return t && t.dtype === 'float32' && t.dims.length === 2 && !g.inputs.some((v) => v.name === name) ? t : undefined;
  };
  let fused = 0;
  for (const mm of [...g.nodes]) {
    if (mm.opType !== 'MatMul' || !isOnnx(mm)) continue;
    const [a, w] = mm.inputs;
    const out = mm.outputs[0]!;
    const weight = constant2d(w ?? '');
    const aType = types.get(a ?? '');
    const readers = consumers.get(out) ?? [];
    if (!weight || aType?.dtype !== 'float32' || aType.shape?.length !== 2 || readers.length !== 1 || g.isGraphOutput(out)) continue;
    const add = readers[0]!;
    if (add.opType !== 'Add' || !isOnnx(add)) continue;
    const c = add.inputs[0] === out ? add.inputs[1] : add.inputs[0];
    const bias = c ? g.initializers.get(c) : undefined;
    const n = weight.dims[1]!;
    // Gemm's C broadcasts one way only: a row of N (or one value) fits every A.
    if (!bias || bias.dtype !== 'float32' || g.inputs.some((v) => v.name === c) || !(bias.size === 1 || (bias.size === n && bias.dims[bias.dims.length - 1] === n && bias.dims.length <= 2))) continue;
    const gemm = new Node('Gemm', [a!, w!, c!], [...add.outputs], add.name || mm.name);
    g.nodes = g.nodes.filter((x) => x !== add).map((x) => (x === mm ? gemm : x));
    fused++;
  }
  return fused;
}
