/** `shrinkray inspect <model>`: what is in a model, for people (tables) or machines (--json). */
import { readFile } from 'node:fs/promises';
import { InputError } from '../../errors.ts';
import { loadModel } from '../../io/load.ts';
import { summarizeTflite, type TfliteSummary } from '../../inspect/tflite.ts';
import { validateStructure } from '../../io/validate.ts';
import { summarizeModel, type ModelSummary } from '../../inspect/summary.ts';
import { formatSize } from '../../report/size.ts';
import { formatCount, formatPercent, table } from '../format.ts';
import type { CliIO, GlobalArgs } from '../io.ts';

export interface InspectArgs extends GlobalArgs {
  model: string;
  top: number;
}

export async function inspectCommand(args: InspectArgs, io: CliIO): Promise<number> {
  if (args.model.endsWith('.tflite')) {
    const summary = summarizeTflite((await readFile(args.model).catch(() => {
      throw new InputError(`${args.model}: no such file`);
    })), args.model);
    io.stdout.write(args.json ? JSON.stringify({ model: args.model, ...summary }, null, 2) + '\n' : renderTflite(args.model, summary, args.top));
    return 0;
  }
  const model = await loadModel(args.model);
  validateStructure(model, args.model);
  const summary = summarizeModel(model);
  io.stdout.write(args.json ? JSON.stringify({ model: args.model, ...summary }, null, 2) + '\n' : render(args.model, summary, args.top));
  return 0;
}

function render(path: string, s: ModelSummary, top: number): string {
  const io = (v: ModelSummary['inputs'][number]) => `${v.name} ${v.dtype} ${v.shape}`;
  const lines = [
    `${path}`,
    `  ir ${s.irVersion}${s.producer ? `, producer ${s.producer}` : ''}; opsets ${Object.entries(s.opsets).map(([d, v]) => `${d} ${v}`).join(', ')}`,
    `  inputs:  ${s.inputs.map(io).join('; ')}`,
    `  outputs: ${s.outputs.map(io).join('; ')}`,
    `  ${formatCount(s.nodes)} nodes${s.subgraphs ? ` (${s.subgraphs} subgraphs)` : ''}; ${formatCount(s.params)} parameters, ${formatSize(s.weightBytes)}, sparsity ${formatPercent(s.sparsity)}`,
    `  dtypes: ${Object.entries(s.dtypes).map(([d, v]) => `${d} ${formatCount(v.params)} (${formatSize(v.bytes)})`).join(', ') || 'none'}`,
    ...(s.quantized.length ? [`  already quantized: ${s.quantized.map((q) => `${q.op} ${q.count}`).join(', ')} (quantize leaves it as it is)`] : []),
    `  external data: ${s.externalData.tensors ? `${s.externalData.tensors} tensors, ${formatSize(s.externalData.bytes)} in ${s.externalData.files.join(', ')}` : 'none'}`,
    '',
  ];
  const ops = table(
    ['op type', 'count', 'params', 'bytes'],
    s.opTypes.map((r) => [r.op, r.count, formatCount(r.params), formatSize(r.bytes)]),
  );
  const layers = table(
    ['layer', 'op', 'params', 'bytes', 'sparsity'],
    s.layers.slice(0, top).map((r) => [r.node, r.op, formatCount(r.params), formatSize(r.bytes), formatPercent(r.sparsity)]),
  );
  return `${lines.join('\n')}\n${ops}\n${layers}`;
}

function renderTflite(path: string, s: TfliteSummary, top: number): string {
  const io = (v: TfliteSummary['inputs'][number]) => `${v.name} ${v.type} [${v.shape.join(',')}]`;
  const lines = [
    `${path}`,
    `  TFLite schema ${s.schemaVersion}${s.description ? `, ${s.description}` : ''}`,
    `  inputs:  ${s.inputs.map(io).join('; ')}`,
    `  outputs: ${s.outputs.map(io).join('; ')}`,
    `  ${s.tensors.length} tensors, ${formatSize(s.constantBytes)} of constants`,
    '',
  ];
  const ops = table(['operator', 'version', 'count'], s.operators.map((r) => [r.op, r.version, r.count]));
  const biggest = [...s.tensors].sort((a, b) => b.bytes - a.bytes).slice(0, top);
  const tensors = table(['tensor', 'type', 'shape', 'bytes', 'quantization'], biggest.map((t) => [t.name, t.type, `[${t.shape.join(',')}]`, formatSize(t.bytes), t.quantization ?? '']));
  return `${lines.join('\n')}\n${ops}\n${tensors}`;
}
