/** Test helper: run a model in onnxruntime-node and compare two models on the same inputs. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';

/** Deterministic pseudo-random floats in [-1, 1). */
export function randomFloats(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

export async function runModel(model: Model | Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>) {
  const bytes = model instanceof Uint8Array ? model : modelToBytes(model);
  const session = await ort.InferenceSession.create(bytes);
  const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)]));
  const out = await session.run(inputs);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

/** Largest absolute difference between the two models' outputs of the same name. */
export async function maxOutputDiff(a: Model | Uint8Array, b: Model | Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>) {
  const [ra, rb] = [await runModel(a, feeds), await runModel(b, feeds)];
  let max = 0;
  for (const [k, va] of Object.entries(ra)) {
    const vb = rb[k];
    if (!vb || vb.length !== va.length) throw new Error(`output '${k}' differs in presence or size`);
    for (let i = 0; i < va.length; i++) max = Math.max(max, Math.abs(va[i] - vb[i]));
  }
  return max;
}

/**
 * The op types onnxruntime actually runs: the model after its graph optimizations (QDQ
 * fusion included), written by the session and read back. 'extended' keeps the graph free
 * of the layout-specific ops 'all' adds.
 */
export async function optimizedOps(model: Model | Uint8Array, dir: string): Promise<string[]> {
  const path = join(dir, `optimized-${process.pid}-${Date.now()}.onnx`);
  const session = await ort.InferenceSession.create(model instanceof Uint8Array ? model : modelToBytes(model), { graphOptimizationLevel: 'extended', optimizedModelFilePath: path });
  await session.release();
  try {
    return (await loadModel(path)).graph.nodes.map((n) => n.opType);
  } finally {
    rmSync(path, { force: true });
  }
}
