/**
 * cleanup: the graph simplifications every model benefits from, repeated until nothing
 * changes (capped): Constant nodes → initializers, Identity/Dropout removal, constant
 * folding (evaluated by onnxruntime), BatchNormalization folded into Conv/Gemm, MatMul +
 * bias on 2-D inputs fused into Gemm, identical initializers merged, dead code removed,
 * nodes' debug information (doc strings, exporters' stack traces) dropped.
 */
import { definePass, type PassChanges } from '../src/pipeline/pass.ts';
import { phase } from '../src/profile.ts';

// Passes declare their options up front but load their engines when they run, so listing
// passes (`shrinkray --help`, `shrinkray passes`) never loads onnxruntime or the quantizer.
const transforms = async () => ({
  ...(await import('../src/transforms/constants-to-initializers.ts')),
  ...(await import('../src/transforms/dead-code.ts')),
  ...(await import('../src/transforms/dedupe-initializers.ts')),
  ...(await import('../src/transforms/fold-batchnorm.ts')),
  ...(await import('../src/transforms/fold-constants.ts')),
  ...(await import('../src/transforms/fuse-matmul-add.ts')),
  ...(await import('../src/transforms/remove-identity.ts')),
  ...(await import('../src/transforms/strip-debug-info.ts')),
});

const MAX_ROUNDS = 10;

export const cleanup = definePass({
  name: 'cleanup',
  kind: 'cleanup',
  description: 'Remove Identity/Dropout and dead code, fold constants and BatchNormalization, merge duplicate weights.',
  options: {
    fold: { type: 'boolean', default: true, description: 'Fold nodes whose inputs are all constants (evaluated by onnxruntime).' },
    foldBatchnorm: { type: 'boolean', default: true, description: 'Fold BatchNormalization into the preceding Conv or Gemm.' },
    dedupe: { type: 'boolean', default: true, description: 'Merge initializers with identical dtype, shape and bytes.' },
    fuseMatmulAdd: { type: 'boolean', default: true, description: 'Turn MatMul + constant bias Add on 2-D inputs into one Gemm (quantized as one QGemm).' },
    stripDebugInfo: { type: 'boolean', default: true, description: "Drop nodes' doc strings and metadata (exporters' stack traces; the model's own metadata is kept)." },
  },
  async run(model, options, ctx) {
    const { constantsToInitializers, removeIdentities, foldConstants, foldBatchNorms, dedupeInitializers, fuseMatMulAdd, eliminateDeadCode, stripDebugInfo } = await transforms();
    const total: PassChanges = {};
    const add = async (key: string, transform: () => number | Promise<number>) => {
      const n = await phase(`cleanup: ${key}`, transform);
      if (n) total[key] = (total[key] ?? 0) + n;
      return n;
    };
    if (options.stripDebugInfo) await add('debugInfoStripped', () => stripDebugInfo(model.graph));
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      ctx.progress(round / MAX_ROUNDS, `round ${round}`);
      let changed = 0;
      changed += await add('constantsToInitializers', () => constantsToInitializers(model.graph));
      changed += await add('identitiesRemoved', () => removeIdentities(model.graph));
      if (options.fold) changed += await add('nodesFolded', () => foldConstants(model));
      if (options.foldBatchnorm) changed += await add('batchNormsFolded', () => foldBatchNorms(model.graph));
      if (options.dedupe) changed += await add('initializersMerged', () => dedupeInitializers(model.graph));
      if (options.fuseMatmulAdd) changed += await add('matmulAddsFused', () => fuseMatMulAdd(model));
      changed += await add('deadRemoved', () => eliminateDeadCode(model.graph));
      if (changed === 0) break;
      if (round === MAX_ROUNDS) ctx.note(`cleanup: stopped after ${MAX_ROUNDS} rounds while still changing the graph`);
    }
    return total;
  },
});
