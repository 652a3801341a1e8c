/**
 * shrinkray's programmatic API: the same loader, passes and pipeline the CLI uses.
 *
 *   import { loadModel, saveModel, runPipeline, passes } from 'shrinkray';
 *   const model = await loadModel('model.onnx');
 *   await runPipeline(model, [{ pass: passes.cleanup }]);
 *   await saveModel(model, 'model.small.onnx');
 */
export { loadModel, type LoadOptions } from '../io/load.ts';
export { saveModel, modelToBytes, type SaveOptions, type SaveResult } from '../io/save.ts';
export { runPipeline, encodedSize, type PipelineStep, type PipelineEvents, type PipelineResult, type StageResult } from '../pipeline/run.ts';
export type { Pass, PassContext, PassKind, PassChanges } from '../pipeline/pass.ts';
export type { OptionSpec, OptionsSchema, OptionValues } from '../pipeline/options.ts';
export { passes, getPass } from '../../passes/index.ts';
export { summarizeModel, type ModelSummary } from '../inspect/summary.ts';
export { inferShapes } from '../ops/infer.ts';
export { opSpec, OPS } from '../ops/registry.ts';
export type { OpSpec, OpCategory } from '../ops/types.ts';
export { Model } from '../ir/model.ts';
export { Graph } from '../ir/graph.ts';
export { Node, float, type Attribute, type AttrType } from '../ir/node.ts';
export { Tensor } from '../ir/tensor.ts';
export { ValueInfo, type Dim, type TensorType } from '../ir/value.ts';
export { GraphBuilder, type BuilderOptions } from '../ir/builder.ts';
export type { DType, TypedArray } from '../onnx/dtype.ts';
export { ShrinkrayError, InputError, CheckError, type ExitCode } from '../errors.ts';

// Compression, measurement and reporting, for build scripts that want more than a pipeline.
export { pruneModel, analyzeSensitivity, sensitivityMarkdown, type PruneHooks } from '../prune/index.ts';
export { quantizeModel } from '../quant/quantize.ts';
export { quantizeModelInt4, type Int4Options, type Int4Result } from '../quant/int4.ts';
export { openDataset, type Dataset, type Batch } from '../data/dataset.ts';
export type { DistillOptions, DistillResult, HintPair } from '../distill/distill.ts';
export type { Runtime, GraphSession, HostTensor } from '../runtime/types.ts';
export { measureModel, type MeasureOptions, type Measured } from '../evaluate/measure.ts';
export { accuracyEvaluator, type AccuracyOptions } from '../evaluate/accuracy.ts';
export { buildReport, writeReport, type StageMeasurements } from '../report/report.ts';
export { renderMarkdown } from '../report/markdown.ts';
export { evaluateBudgets, enforceBudgets } from '../report/budgets.ts';
export type { Report, Stage, Budgets, BudgetResult } from '../report/schema.ts';
