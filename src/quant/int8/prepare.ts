/**
 * The graph preparation onnxruntime's quantization pre-processing does
 * (`quantize.shape_inference.quant_pre_process`): constant subgraphs folded (its onnxruntime
 * optimization pass does; exporters compute weights from constants — silero-vad builds its LSTM
 * weights inside If branches, which int8 then saw as activations: 0.62× instead of 0.27×),
 * BatchNormalization folded into the Conv or Gemm before it, MatMul + constant bias fused into
 * Gemm, shapes inferred (the quantizer's analysis infers them). Quantized as given, a BatchNormalization after an int8 Conv runs as
 * dequantize → float BN → requantize: dscnn ran 0.52× fp32 at batch 32 that way, 1.2× folded.
 * The rewrites are cleanup's (src/transforms/).
 */
import type { Model } from '../../ir/model.ts';
import { eliminateDeadCode } from '../../transforms/dead-code.ts';
import { foldBatchNorms } from '../../transforms/fold-batchnorm.ts';
import { fuseMatMulAdd } from '../../transforms/fuse-matmul-add.ts';
import { foldConstants } from '../../transforms/fold-constants.ts';

export interface Preparation {
  constantsFolded: number;
  batchNormsFolded: number;
  matmulAddsFused: number;
}

export async function prepareForQuantization(model: Model): Promise<Preparation> {
  const constantsFolded = await foldConstants(model);
  const done = { constantsFolded, batchNormsFolded: foldBatchNorms(model.graph), matmulAddsFused: fuseMatMulAdd(model) };
  // Folding writes new weights: the ones it replaced (and nothing else reads) go.
  if (done.constantsFolded || done.batchNormsFolded || done.matmulAddsFused) eliminateDeadCode(model.graph);
  return done;
}

export function describePreparation(p: Preparation): string {
  const parts = [
    p.constantsFolded ? `folded ${p.constantsFolded} node(s) of constants` : '',
    p.batchNormsFolded ? `folded ${p.batchNormsFolded} BatchNormalization` : '',
    p.matmulAddsFused ? `fused ${p.matmulAddsFused} MatMul + Add into Gemm` : '',
  ].filter(Boolean);
  return `prepared as onnxruntime's quantization pre-processing does: ${parts.length ? parts.join(', ') : 'nothing to fold or fuse'} (prepare: false quantizes the graph as given)`;
}
