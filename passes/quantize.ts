/**
 * quantize: int8 quantization. Static (default): per-channel symmetric int8 weights and
 * calibrated per-tensor activations, as QDQ pairs or QOperator integer ops. Dynamic: int8
 * MatMul/Gemm weights, activations quantized at run time. Optional accuracy-driven fallback
 * and per-layer diagnostics; the result is run in onnxruntime-node before the pass returns.
 * The work is done by `quantizeModel` (src/quant), which the CLI calls as well.
 */
import { readFile } from 'node:fs/promises';
import { openDataset, type Dataset } from '../src/data/dataset.ts';
import { InputError } from '../src/errors.ts';
import { definePass } from '../src/pipeline/pass.ts';
import { CALIBRATION_METHODS } from '../src/quant/calibrators.ts';
import { accuracyEvaluator } from '../src/evaluate/accuracy.ts';
import { quantizeModel } from '../src/quant/quantize.ts';
import type { Recipe } from '../src/quant/types.ts';

export const quantize = definePass({
  name: 'quantize',
  kind: 'quantize',
  description: 'int8 quantization: static (calibrated, QDQ or QOperator) or dynamic, with accuracy-driven fallback.',
  options: {
    mode: { type: 'enum', default: 'static', values: ['static', 'dynamic'], description: 'static: weights and activations (needs calib); dynamic: MatMul/Gemm weights only.' },
    format: { type: 'enum', default: 'qdq', values: ['qdq', 'qoperator'], description: 'Static output format: QDQ pairs, or integer operators (QLinearConv, QGemm …).' },
    activationType: { type: 'enum', default: 'uint8', values: ['uint8', 'int8'], description: 'Activation type (per tensor, asymmetric).' },
    perChannel: { type: 'boolean', default: true, description: 'One weight scale per output channel (false: per tensor).' },
    calib: { type: 'string', default: '', description: 'Calibration data: .npz / .npy / folder (required for static).' },
    calibSamples: { type: 'number', default: 512, min: 1, description: 'Calibration samples (the first N).' },
    calibBatch: { type: 'number', default: 64, min: 1, description: 'Samples per calibration run.' },
    calibration: { type: 'enum', default: 'percentile', values: CALIBRATION_METHODS, description: 'Range estimation: minmax, percentile, entropy (KL) or mse.' },
    percentile: { type: 'number', default: 99.99, min: 50, max: 100, description: 'Two-sided percentile for calibration=percentile.' },
    opTypes: { type: 'list', default: [], description: 'Op types to quantize (default: Conv, MatMul, Gemm, Add, Mul, pools, Relu/Clip, Concat and value-preserving ops).' },
    excludeNodes: { type: 'list', default: [], description: 'Node names kept in float.' },
    keepIoFloat: { type: 'boolean', default: false, description: 'Keep the first and last Conv/MatMul/Gemm layers in float.' },
    minConvInputChannels: { type: 'number', default: 4, min: 0, description: 'Convs (group 1) with fewer input channels stay float: onnxruntime runs them slower in int8 (0: quantize all).' },
    recipe: { type: 'string', default: '', description: 'JSON file {"layers": {"<node>": "float" | "int8"}} for mixed precision.' },
    maxAccuracyDrop: { type: 'number', default: -1, min: -1, description: 'Accuracy budget in points: layers return to float, most sensitive first, until met (negative: off).' },
    evalData: { type: 'string', default: '', description: 'Labelled data set for maxAccuracyDrop (held out: not the calibration data).' },
    evalSamples: { type: 'number', default: 0, min: 0, description: 'Evaluation samples (0: all).' },
    sensitivitySamples: { type: 'number', default: 128, min: 1, description: 'Calibration samples used to rank layer sensitivity.' },
    constantsInt8: { type: 'boolean', default: true, description: 'Store leftover float constants (LayerNorm parameters, post-op biases; ≥ 64 values) as int8 + DequantizeLinear.' },
    debugLayers: { type: 'boolean', default: false, description: 'Report per-layer SQNR and max error against float.' },
    runtimeCheck: { type: 'enum', default: 'auto', values: ['auto', 'full', 'structure'], description: 'onnxruntime check: full (load and run), structure (large weights as inputs), auto (full up to 128 MiB).' },
  },
  async run(model, options, ctx) {
    const opened: Dataset[] = [];
    const open = async (path: string) => {
      const ds = await openDataset(path);
      opened.push(ds);
      return ds;
    };
    try {
      const calibration = options.calib ? await open(options.calib) : undefined;
      const budget = options.maxAccuracyDrop >= 0 ? options.maxAccuracyDrop : undefined;
      if (budget !== undefined && !options.evalData) throw new InputError('maxAccuracyDrop needs evalData (a labelled, held-out data set)');
      const evaluate = budget !== undefined ? accuracyEvaluator(await open(options.evalData), { limit: options.evalSamples || undefined }) : undefined;
      const result = await quantizeModel(
        model,
        {
          mode: options.mode as 'static' | 'dynamic',
          format: options.format as 'qdq' | 'qoperator',
          activationType: options.activationType as 'uint8' | 'int8',
          perChannel: options.perChannel,
          calibration: options.calibration as (typeof CALIBRATION_METHODS)[number],
          percentile: options.percentile,
          calibSamples: options.calibSamples,
          calibBatch: options.calibBatch,
          opTypes: options.opTypes,
          excludeNodes: options.excludeNodes,
          keepIoFloat: options.keepIoFloat,
          minConvInputChannels: options.minConvInputChannels,
          recipe: options.recipe ? await readRecipe(options.recipe) : undefined,
          maxAccuracyDrop: budget,
          sensitivitySamples: options.sensitivitySamples,
          debugLayers: options.debugLayers,
          constantsInt8: options.constantsInt8,
          runtimeCheck: options.runtimeCheck as 'auto' | 'full' | 'structure',
        },
        { calibration, evaluate, progress: (f, l) => ctx.progress(f, l), note: (m) => ctx.note(m) },
      );
      for (const k of result.keptFloat) ctx.note(`kept ${k.node} (${k.opType}) in float: ${k.reason}`);
      return {
        nodesQuantized: result.quantized.length,
        weightsQuantized: result.weights,
        keptFloat: result.keptFloat.length,
        ...(result.fallback && { returnedToFloat: result.fallback.keptFloat.length }),
      };
    } finally {
      for (const ds of opened) await ds.close();
    }
  },
});

async function readRecipe(path: string): Promise<Recipe> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new InputError(`${path}: cannot read the recipe (${(err as Error).message})`, { cause: err });
  }
  const layers = (parsed as { layers?: unknown })?.layers;
  if (typeof layers !== 'object' || layers === null || Array.isArray(layers)) {
    throw new InputError(`${path}: a recipe is {"layers": {"<node name>": "float" | "int8"}}`);
  }
  return { layers: layers as Recipe['layers'] };
}
