/**
 * shrinkray's programmatic API: the same loader, passes and pipeline the CLI uses.
 *
 *   import { loadModel, saveModel, runPipeline, passes } from 'shrinkray';
 *   const model = await loadModel('model.onnx');
 *   await runPipeline(model, [{ pass: 'cleanup' }, { pass: passes.quantize, options: { mode: 'dynamic' } }]);
 *   await saveModel(model, 'model.small.onnx');
 */
export { loadModel, type LoadOptions } from '../io/load.ts';
export { saveModel, modelToBytes, encodedSize, type SaveOptions, type SaveResult } from '../io/save.ts';
export { runPipeline, type AnyPass, type PipelineStep, type PipelineEvents, type PipelineResult, type StageResult } from '../pipeline/run.ts';
export { definePass, defineExportPass, type Pass, type ExportPass, type Artifact, type PassContext, type PassKind, type PassChanges } from '../pipeline/pass.ts';
export { defaultsOf, type OptionSpec, type OptionsSchema, type OptionValues } from '../pipeline/options.ts';
export { passes, getPass, type PassName } from '../../passes/index.ts';
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
export { quantizeModel } from '../quant/int8/quantize.ts';
export { quantizeModelInt4, type Int4Options, type Int4Result } from '../quant/int4/int4.ts';
export { exportTflite, type ExportOptions as TfliteExportOptions, type ExportResult as TfliteExportResult } from '../tflite/convert.ts';
export { readTflite } from '../tflite/read.ts';
export { openDataset, type Dataset, type Batch } from '../data/dataset.ts';
export type { DistillOptions, DistillResult, HintPair } from '../distill/distill.ts';
export { measureModel, type MeasureOptions, type Measured } from '../evaluate/measure.ts';
export { accuracyEvaluator, type AccuracyOptions } from '../evaluate/accuracy.ts';
export { buildReport, writeReport, type StageMeasurements } from '../report/report.ts';
export { renderMarkdown } from '../report/markdown.ts';
export { renderHtml } from '../report/html.ts';
export { diffReports, renderDiffMarkdown, type ReportDiff } from '../report/diff.ts';
export { parseRecipe, loadRecipe, type Recipe } from '../recipe/recipe.ts';
export { evaluateBudgets, enforceBudgets } from '../report/budgets.ts';
export type { Report, Stage, Budgets, BudgetResult, Environment, Provenance } from '../report/schema.ts';
export { onnxruntime, createSession, type SessionOptions } from '../runtime/ort.ts';
export type { Runtime, GraphSession, HostTensor, ValueSpec, OpenOptions } from '../runtime/types.ts';
export { runDataset, runBatches, collectDataset } from '../runtime/batches.ts';
export { checkRuns } from '../runtime/check.ts';
