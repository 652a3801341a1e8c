/**
 * Hint losses (FitNets) after channel pruning: the student's kept channels are a subset of
 * the teacher's, in the teacher's order. `autoHints` pairs every Conv/Gemm present in both
 * graphs under one node name and finds the kept channels by activation: on a few samples,
 * each student channel correlates best with the teacher channel it came from (exactly, for
 * the first layer; closely, for later ones whose inputs lost channels). A monotone matching
 * (order is kept by pruning) maximises the summed correlation.
 */
import { InputError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import { modelBytesWithOutputs } from '../runtime/capture.ts';
import { createSession } from '../runtime/ort.ts';
import { batchOf, rows, type Samples } from './data.ts';
import { runBatches } from '../runtime/batches.ts';
import type { HintPair } from './distill.ts';

/** `student=teacher` value pairs (channels unchanged). */
export function parseHints(list: readonly string[]): HintPair[] {
  return list.map((item) => {
    const m = /^([^=]+)=([^=]+)$/.exec(item.trim());
    if (!m) throw new InputError(`hint '${item}' is not of the form <student value>=<teacher value> (or 'auto')`);
    return { student: m[1]!, teacher: m[2]! };
  });
}

/** Channel vectors of a [n, c, ...] tensor: row k holds channel k over samples and positions. */
function channelRows(data: Float32Array, dims: number[]): Float64Array[] {
  const [n, c] = dims as [number, number];
  const inner = dims.slice(2).reduce((a, b) => a * b, 1);
  return Array.from({ length: c }, (_, k) => {
    const v = new Float64Array(n * inner);
    for (let s = 0; s < n; s++) for (let i = 0; i < inner; i++) v[s * inner + i] = data[(s * c + k) * inner + i]!;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    let norm = 0;
    for (let i = 0; i < v.length; i++) norm += (v[i]! -= mean) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < v.length; i++) v[i]! /= norm;
    return v;
  });
}

/** Student channel i ↦ teacher channel m[i], increasing, maximising Σ corr(i, m[i]). */
export function monotoneMatch(corr: number[][], teacherChannels: number): number[] {
  const s = corr.length;
  const best = corr.map(() => new Float64Array(teacherChannels).fill(-Infinity));
  const from = corr.map(() => new Int32Array(teacherChannels).fill(-1));
  for (let i = 0; i < s; i++) {
    let runMax = -Infinity;
    let runArg = -1;
    for (let j = 0; j < teacherChannels; j++) {
      if (i === 0) best[0]![j] = corr[0]![j]!;
      else if (runArg >= 0) {
        best[i]![j] = runMax + corr[i]![j]!;
        from[i]![j] = runArg;
      }
      // Best previous row ending strictly before column j+1.
      if (i > 0 && best[i - 1]![j]! > runMax) {
        runMax = best[i - 1]![j]!;
        runArg = j;
      }
    }
  }
  let j = best[s - 1]!.indexOf(Math.max(...best[s - 1]!));
  const out = new Array<number>(s);
  for (let i = s - 1; i >= 0; i--) {
    out[i] = j;
    j = from[i]![j]!;
  }
  return out;
}

export async function autoHints(student: Model, teacher: Model, data: Samples, samples = 128): Promise<HintPair[]> {
  const tNodes = new Map(teacher.graph.nodes.filter((n) => n.name).map((n) => [n.name, n]));
  const outputs = new Set(student.graph.outputs.map((o) => o.name));
  const pairs = student.graph.nodes
    .filter((n) => (n.opType === 'Conv' || n.opType === 'Gemm') && n.name && tNodes.get(n.name)?.opType === n.opType && !outputs.has(n.outputs[0]!))
    .map((n) => ({ student: n.outputs[0]!, teacher: tNodes.get(n.name)!.outputs[0]! }));
  if (pairs.length === 0) throw new InputError('hints=auto: no Conv/Gemm node of the student has a namesake in the teacher');
  const batch = batchOf(rows(data, 0, Math.min(samples, data.length)));
  const run = async (model: Model, names: string[]) => {
    const session = await createSession(modelBytesWithOutputs(model, names), { threads: 1, label: 'hint matching' });
    try {
      for await (const { values } of runBatches(session, [batch], names)) return values;
      throw new Error('hint matching: no samples');
    } finally {
      await session.close();
    }
  };
  const s = await run(student, pairs.map((p) => p.student));
  const t = await run(teacher, pairs.map((p) => p.teacher));
  return pairs.map((p) => {
    const sd = s.get(p.student)!;
    const td = t.get(p.teacher)!;
    const cs = Number(sd.dims[1]);
    const ct = Number(td.dims[1]);
    if (cs === ct) return p;
    const sRows = channelRows(sd.data, sd.dims);
    const tRows = channelRows(td.data, td.dims);
    const corr = sRows.map((a) => tRows.map((b) => a.reduce((acc, v, i) => acc + v * b[i]!, 0)));
    return { ...p, channels: monotoneMatch(corr, ct) };
  });
}
