/**
 * quantize: int8 quantization, on a graph prepared first (BatchNormalization folded, MatMul +
 * Add fused). Static (default): per-channel symmetric int8 weights and calibrated per-tensor
 * activations, as QDQ pairs or QOperator integer ops, layers placed by measured speed
 * (target). Dynamic: int8
 * MatMul/Gemm weights, activations quantized at run time. Optional accuracy-driven fallback
 * and per-layer diagnostics; the result is run in onnxruntime before the pass returns.
 * The work is done by `quantizeModel` (src/quant), which the CLI calls as well.
 */
import { readFile } from 'node:fs/promises';
import type { Dataset } from '../src/data/dataset.ts';
import { InputError } from '../src/errors.ts';
import { definePass } from '../src/pipeline/pass.ts';
import { QUANTIZE_OPTIONS } from '../src/quant/int8/options.ts';
import type { Recipe } from '../src/quant/int8/types.ts';

export const quantize = definePass({
  name: 'quantize',
  kind: 'quantize',
  description: 'int8 quantization: static (calibrated, QDQ or QOperator) or dynamic, with accuracy-driven fallback.',
  options: {
    ...QUANTIZE_OPTIONS,
    calib: { type: 'string', default: '', description: 'Calibration data: .npz / .npy / folder (required for static).' },
    recipe: { type: 'string', default: '', description: 'JSON file {"layers": {"<node>": "float" | "int8"}} for mixed precision.' },
    maxAccuracyDrop: { type: 'number', default: -1, min: -1, description: 'Accuracy budget in points: layers return to float, most sensitive first, until met (negative: off).' },
    evalData: { type: 'string', default: '', description: 'Labelled data set for maxAccuracyDrop (held out: not the calibration data).' },
    evalSamples: { type: 'number', default: 0, min: 0, description: 'Evaluation samples (0: all).' },
  },
  async run(model, options, ctx) {
    // The engine loads when the pass runs, not when passes are listed (see cleanup.ts).
    const [{ openDataset }, { accuracyEvaluator }, { quantizeModel }] = await Promise.all([
      import('../src/data/dataset.ts'),
      import('../src/evaluate/accuracy.ts'),
      import('../src/quant/int8/quantize.ts'),
    ]);
    const opened: Dataset[] = [];
    const open = async (path: string) => {
      const ds = await openDataset(path, { inputValues: ctx.inputValues });
      opened.push(ds);
      return ds;
    };
    try {
      const { calib, recipe, maxAccuracyDrop, evalData, evalSamples, ...engine } = options;
      const calibration = calib ? await open(calib) : undefined;
      const budget = maxAccuracyDrop >= 0 ? maxAccuracyDrop : undefined;
      if (budget !== undefined && !evalData) throw new InputError('maxAccuracyDrop needs evalData (a labelled, held-out data set)');
      const evaluate = budget !== undefined ? accuracyEvaluator(await open(evalData), { limit: evalSamples || undefined }) : undefined;
      const result = await quantizeModel(
        model,
        { ...engine, recipe: recipe ? await readRecipe(recipe) : undefined, maxAccuracyDrop: budget },
        { calibration, evaluate, progress: (f, l) => ctx.progress(f, l), note: (m) => ctx.note(m), outputRunByCaller: ctx.outputRunByCaller, shapes: ctx.shapes, inputValues: ctx.inputValues, judgedOn: ctx.judgedOn },
      );
      for (const line of keptFloatNotes(result.keptFloat)) ctx.note(line);
      return {
        nodesQuantized: result.quantized.length,
        weightsQuantized: result.weights,
        keptFloat: result.keptFloat.length,
        ...(result.toWeightOnly && { movedToWeightOnly: result.toWeightOnly.keptFloat.length }),
        ...(result.fallback && { returnedToFloat: result.fallback.keptFloat.length }),
        ...(result.placement?.keptFloat.length && { floatForSpeed: result.placement.keptFloat.length }),
        ...(result.preparation?.constantsFolded && { constantsFolded: result.preparation.constantsFolded }),
        ...(result.preparation?.batchNormsFolded && { batchNormsFolded: result.preparation.batchNormsFolded }),
        ...(result.preparation?.matmulAddsFused && { matmulAddsFused: result.preparation.matmulAddsFused }),
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

/** Nodes sharing one reason beyond this many get one note (a real CNN has hundreds of Adds after float layers). */
const NOTES_PER_REASON = 5;

/** One note per node kept in float; for a reason shared by many (details aside), one note with the count by op type and every name. */
export function keptFloatNotes(kept: readonly { node: string; opType: string; reason: string }[]): string[] {
  // Grouped by what the reason says before its details ('returned to float by fallback: rank 3 (…)').
  const head = (reason: string) => reason.split(':')[0]!;
  const byReason = new Map<string, typeof kept[number][]>();
  for (const k of kept) byReason.set(head(k.reason), [...(byReason.get(head(k.reason)) ?? []), k]);
  return [...byReason].flatMap(([reason, nodes]) => {
    if (nodes.length <= NOTES_PER_REASON) return nodes.map((k) => `kept ${k.node} (${k.opType}) in float: ${k.reason}`);
    const ops = new Map<string, number>();
    for (const k of nodes) ops.set(k.opType, (ops.get(k.opType) ?? 0) + 1);
    const counts = [...ops].map(([op, n]) => `${op} ×${n}`).join(', ');
    return [`kept ${nodes.length} nodes in float: ${reason} (${counts}: ${nodes.map((k) => k.node).join(', ')})`];
  });
}
