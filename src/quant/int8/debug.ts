/**
 * Per-layer diagnostics: the float model and a quantized variant run on the same inputs,
 * and each quantized layer's output is compared (SQNR, largest error). Errors accumulate
 * through the network, so a sharp SQNR drop from one layer to the next marks where
 * accuracy goes (fallback's one-run ranking reads exactly that: sensitivity.ts). Both models
 * run batch by batch in lock step, so only one batch of every layer's output is held.
 */
import { sqnrDb } from '../../math/sqnr.ts';
import type { Model } from '../../ir/model.ts';
import { nodeName } from '../../ir/node.ts';
import { modelWithOutputs } from '../../runtime/capture.ts';
import { forEachBatchPair, openRunner, type InputSource } from '../calibration/run.ts';
import type { LayerError } from './types.ts';
import type { Variant } from './variants.ts';

interface Acc {
  signal: number;
  noise: number;
  maxErr: number;
  maxAbs: number;
}

export async function compareLayers(floatModel: Model, variant: Variant, source: InputSource): Promise<LayerError[]> {
  const probes = variant.probes;
  if (probes.length === 0) return [];
  const floatRunner = await openRunner(modelWithOutputs(floatModel, probes.map((p) => ({ name: p.tensor, dtype: 'float32' }))), 'the float model');
  const quantRunner = await openRunner(modelWithOutputs(variant.model, probes.map((p) => p.fetch)), 'the quantized model').catch(async (err: unknown) => {
    await floatRunner.close();
    throw err;
  });
  const acc: Acc[] = probes.map(() => ({ signal: 0, noise: 0, maxErr: 0, maxAbs: 0 }));
  try {
    const float = { session: floatRunner, names: [...new Set(probes.map((p) => p.tensor))] };
    const quant = { session: quantRunner, names: [...new Set(probes.map((p) => p.fetch.name))] };
    await forEachBatchPair(float, quant, source, (ref, out) => {
      probes.forEach((p, i) => {
        const r = ref.get(p.tensor)!;
        const q = out.get(p.fetch.name)!;
        const a = acc[i]!;
        const dq = p.dequantize;
        for (let j = 0; j < r.length; j++) {
          const v = dq ? (q[j]! - dq.zeroPoint) * dq.scale : q[j]!;
          const d = Math.abs(r[j]! - v);
          a.signal += r[j]! * r[j]!;
          a.noise += d * d;
          if (d > a.maxErr) a.maxErr = d;
          if (Math.abs(r[j]!) > a.maxAbs) a.maxAbs = Math.abs(r[j]!);
        }
      });
    });
  } finally {
    await floatRunner.close();
    await quantRunner.close();
  }
  return probes.map((p, i) => {
    const a = acc[i]!;
    return { node: nodeName(p.node), opType: p.node.opType, tensor: p.tensor, sqnrDb: sqnrDb(a.signal, a.noise), maxAbsError: a.maxErr, maxAbs: a.maxAbs };
  });
}

/** One line per layer, for notes and the CLI. */
export function formatLayerErrors(layers: readonly LayerError[]): string[] {
  return layers.map((l) => `${l.node} (${l.opType}): SQNR ${l.sqnrDb.toFixed(1)} dB, max error ${l.maxAbsError.toPrecision(3)} of ${l.maxAbs.toPrecision(3)}`);
}
