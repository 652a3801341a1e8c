/**
 * `shrinkray export <model.onnx> -o <model.tflite>`: cleanup (constant folding off for QDQ
 * models, whose weights must stay int8), the export-tflite pass, its verification in the
 * TFLite interpreter, then the file, written only once verification passed.
 */
import { InputError } from '../../errors.ts';
import { loadModel } from '../../io/load.ts';
import { validateOptions } from '../../pipeline/options.ts';
import { cleanup } from '../../../passes/cleanup.ts';
import { passes } from '../../../passes/index.ts';
import { writeFileAtomic } from '../../report/report.ts';
import { formatSize } from '../../report/size.ts';
import type { CliIO, GlobalArgs } from '../io.ts';

export interface ExportArgs extends GlobalArgs {
  model: string;
  output: string;
  kind: string;
  io: string;
  keepNchwIo: boolean;
  batch: number;
  cleanup: boolean;
  verify: boolean;
}

export async function exportCommand(args: ExportArgs, io: CliIO): Promise<number> {
  const pass = passes['export-tflite'];
  if (!args.output.endsWith(pass.extension)) throw new InputError(`output '${args.output}' must end in ${pass.extension}`);
  const notes: string[] = [];
  const ctx = { progress() {}, note: (m: string) => void notes.push(m) };
  const model = await loadModel(args.model);
  if (args.cleanup) {
    const qdq = model.graph.nodes.some((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
    await cleanup.run(model, validateOptions('cleanup', cleanup.options, { fold: !qdq }), ctx);
  }
  const options = validateOptions(pass.name, pass.options, { kind: args.kind, io: args.io, keepNchwIo: args.keepNchwIo, batch: args.batch });
  const artifact = await pass.export(model, options, ctx);
  if (args.verify) await pass.verify(artifact, model, options, ctx);
  await writeFileAtomic(args.output, artifact.bytes);
  const d = artifact.details as { operators: Record<string, number>; floatNodes: unknown[]; verification?: { outputs?: { name: string; maxAbsError: number; cosine: number }[]; skipped?: string } };
  if (args.json) {
    io.stdout.write(JSON.stringify({ output: args.output, bytes: artifact.bytes.length, ...artifact.details, notes }, null, 2) + '\n');
    return 0;
  }
  const ops = Object.entries(d.operators).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [`${args.output}: ${args.kind} TFLite, ${formatSize(artifact.bytes.length)}`, `  operators: ${ops}`];
  if (d.floatNodes.length) lines.push(`  ${d.floatNodes.length} node(s) computed in float (no int8 parameters in the QDQ model)`);
  const v = d.verification;
  if (v?.outputs) for (const o of v.outputs) lines.push(`  verified in the TFLite interpreter vs onnxruntime: ${o.name} max abs error ${o.maxAbsError.toExponential(2)}, cosine ${o.cosine.toFixed(6)}`);
  if (v?.skipped) lines.push(`  verification skipped: ${v.skipped}`);
  if (!args.quiet) for (const n of notes) lines.push(`  note: ${n}`);
  io.stdout.write(lines.join('\n') + '\n');
  return 0;
}
