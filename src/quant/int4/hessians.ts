/**
 * Streaming calibration activations into one Hessian per MatMul input (memory K² per
 * input, whatever the sample count).
 */
import { InputError } from '../../errors.ts';
import type { Dataset } from '../../data/dataset.ts';
import type { Model } from '../../ir/model.ts';
import { transpose } from '../../math/arrays.ts';
import { modelBytesWithOutputs } from '../../runtime/capture.ts';
import { floatBatches, planDataset, runBatches } from '../../runtime/batches.ts';
import { createSession } from '../../runtime/ort.ts';
import { HessianAccumulator } from './gptq-linalg.ts';

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

/**
 * H = 2·XᵀX / rows for each requested value, over the first `samples` samples of the data
 * set (every row of a value's leading dims is one row of X). Values inside If/Loop/Scan bodies
 * are captured too (runtime/capture.ts): a Loop's iterations add rows, an If branch not taken
 * adds none, so a value the data never reached comes back with no rows for the caller to judge.
 */
export async function collectHessians(model: Model, requests: readonly HessianRequest[], ds: Dataset, opts: CalibrationOptions): Promise<Map<string, HessianAccumulator>> {
  const acc = new Map<string, HessianAccumulator>();
  for (const r of requests) if (!acc.has(hessianKey(r))) acc.set(hessianKey(r), new HessianAccumulator(r.K));
  const values = [...new Set(requests.map((r) => r.value))];
  const session = await createSession(modelBytesWithOutputs(model, values), { label: 'the model with calibration outputs' });
  try {
    planDataset(session, ds);
    const total = Math.min(ds.length, opts.samples);
    let seen = 0;
    for await (const { batch, values: out } of runBatches(session, floatBatches(ds, opts.batchSize, total), values)) {
      for (const r of requests) {
        const t = out.get(r.value);
        // Not laid out by sample (the padded chunk of a fixed-batch model), or a branch not taken.
        if (!t || t.data.length === 0) continue;
        if (r.transA) {
          if (t.dims.length !== 2 || t.dims[0] !== r.K) throw new InputError(`calibration value '${r.value}' has shape [${t.dims.join(', ')}], expected [${r.K}, M]`);
          acc.get(hessianKey(r))!.add(transpose(t.data, r.K, t.dims[1]!));
        } else {
          if (t.dims.at(-1) !== r.K) throw new InputError(`calibration value '${r.value}' has shape [${t.dims.join(', ')}], expected [..., ${r.K}]`);
          acc.get(hessianKey(r))!.add(t.data);
        }
      }
      seen += batch.shape[0]!;
      opts.progress?.(total ? seen / total : 1);
    }
    if (seen === 0) throw new InputError('calibration produced no rows (empty data set?)');
    return acc;
  } finally {
    await session.close();
  }
}


