/**
 * The int4 pass's two uses of onnxruntime: streaming calibration activations into one
 * Hessian per MatMul input (memory K² per input, whatever the sample count), and checking
 * that the quantized model loads and runs before the pass returns.
 */
import * as ort from 'onnxruntime-node';
import { InputError } from '../errors.ts';
import { checkDatasetFitsInput, toFloat32, type Dataset } from '../data/dataset.ts';
import type { Model } from '../ir/model.ts';
import { modelToBytes } from '../io/save.ts';
import { transpose } from '../math/arrays.ts';
import { modelBytesWithOutputs } from '../runtime/capture.ts';
import { createSession, inputSpec, runBatch, type Session } from '../runtime/ort.ts';
import { HessianAccumulator } from './gptq-linalg.ts';
import { checkRunsInOrt } from '../runtime/check-runs.ts';

export interface HessianRequest {
  /** The activation value feeding the MatMul/Gemm. */
  value: string;
  K: number;
  /** Gemm transA: the value is [K, M] and is transposed before accumulating. */
  transA: boolean;
}

export interface CalibrationOptions {
  /** Samples of the data set to use. */
  samples: number;
  batchSize: number;
  progress?: (fraction: number) => void;
}

export function hessianKey(r: Pick<HessianRequest, 'value' | 'transA'>): string {
  return `${r.value}${r.transA ? '\u0000T' : ''}`;
}

function inputOf(session: Session) {
  const names = session.ort.inputNames;
  if (names.length !== 1) throw new InputError(`${session.label} has ${names.length} inputs (${names.join(', ')}); calibration feeds exactly one`);
  const spec = inputSpec(session);
  if (!spec) throw new InputError(`${session.label}: input '${session.ort.inputMetadata[0]!.name}' is not a tensor`);
  return spec;
}

/**
 * H = 2·XᵀX / rows for each requested value, over the first `samples` samples of the data
 * set (every row of a value's leading dims is one row of X).
 */
export async function collectHessians(model: Model, requests: readonly HessianRequest[], ds: Dataset, opts: CalibrationOptions): Promise<Map<string, HessianAccumulator>> {
  const acc = new Map<string, HessianAccumulator>();
  for (const r of requests) if (!acc.has(hessianKey(r))) acc.set(hessianKey(r), new HessianAccumulator(r.K));
  const values = [...new Set(requests.map((r) => r.value))];
  const session = await createSession(modelBytesWithOutputs(model, values), { label: 'the model with calibration outputs' });
  try {
    const input = inputOf(session);
    checkDatasetFitsInput(ds, input);
    const fixed = typeof input.shape[0] === 'number' && input.shape[0] > 0 ? input.shape[0] : undefined;
    const total = Math.min(ds.length, opts.samples);
    let seen = 0;
    for await (const batch of ds.batches(opts.batchSize, { limit: total })) {
      const x = toFloat32(batch.x, ds.x.dtype);
      const n = batch.shape[0]!;
      const per = n === 0 ? 0 : x.length / n;
      const chunk = fixed ?? n;
      // A fixed batch dim takes whole chunks; a short remainder is left out (padding would bias H).
      for (let start = 0; start + chunk <= n; start += chunk) {
        const feeds = { [input.name]: new ort.Tensor('float32', x.subarray(start * per, (start + chunk) * per), [chunk, ...batch.shape.slice(1)]) };
        const out = await runBatch(session, feeds, values);
        for (const r of requests) {
          const t = out[r.value]!;
          if (t.type !== 'float32') throw new InputError(`calibration value '${r.value}' is ${t.type}; int4 GPTQ needs float32 activations`);
          const data = t.data as Float32Array;
          const last = t.dims[t.dims.length - 1];
          if (r.transA) {
            if (t.dims.length !== 2 || t.dims[0] !== r.K) throw new InputError(`calibration value '${r.value}' has shape [${t.dims.join(', ')}], expected [${r.K}, M]`);
            acc.get(hessianKey(r))!.add(transpose(data, r.K, t.dims[1]!));
          } else {
            if (last !== r.K) throw new InputError(`calibration value '${r.value}' has shape [${t.dims.join(', ')}], expected [..., ${r.K}]`);
            acc.get(hessianKey(r))!.add(data);
          }
        }
      }
      seen += n;
      opts.progress?.(total ? seen / total : 1);
    }
    for (const [key, a] of acc) if (a.count === 0) throw new InputError(`calibration produced no rows for '${key.split('\u0000')[0]}' (empty data set?)`);
    return acc;
  } finally {
    await session.ort.release();
  }
}


/** Loads the model in onnxruntime-node and runs it once; CheckError if the runtime refuses it. */
export async function checkModelRuns(model: Model, label: string): Promise<void> {
  await checkRunsInOrt(modelToBytes(model), label);
}
