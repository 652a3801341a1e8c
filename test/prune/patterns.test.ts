/**
 * Structured pruning through the patterns real exporters write: LayerNorm spelled out as ops,
 * Reshape targets computed from Shape → Gather → Concat, and graph outputs (kept). The expected
 * models are built here from the surviving weights (found by value), independently of the
 * pruning code, and every pruned model runs in onnxruntime.
 */
import { describe, expect, it } from 'vitest';
import { float, GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { InputError } from '../../src/errors.ts';
import { pruneModel } from '../../src/prune/prune.ts';
import { maxOutputDiff, runModel } from '../helpers/run-model.ts';
import { complement, conv, copyOf, dimsOf, gathered, gemm, input, relu, survivors, values, w, zeroSlices } from './graphs.ts';

interface NormVariant {
  /** The fused LayerNormalization op instead. */
  fused?: boolean;
  /** The model's opset (default 17). */
  opset?: number;
  /** Mul(D, D) instead of Pow(D, 2). */
  mulSquare?: boolean;
  /** Add(ε, v) instead of Add(v, ε). */
  epsFirst?: boolean;
  /** Mul(D, Reciprocal(σ)) instead of Div(D, σ). */
  reciprocal?: boolean;
}

/** LayerNorm over the last axis as PyTorch < 1.12 exports it, then its scale and bias. */
function spelledLayerNorm(b: GraphBuilder, name: string, x: string, c: number, v: NormVariant = {}): string {
  if (v.fused) return b.node('LayerNormalization', [x, w(b, `${name}.weight`, [c]), w(b, `${name}.bias`, [c])], { axis: -1, epsilon: float(1e-5) }, { name: `${name}.mean` })[0]!;
  const [mu] = b.node('ReduceMean', [x], { axes: [-1] }, { name: `${name}.mean` });
  const [d] = b.node('Sub', [x, mu!], {}, { name: `${name}.sub` });
  const [sq] = v.mulSquare ? b.node('Mul', [d!, d!]) : b.node('Pow', [d!, b.initializer(`${name}.two`, Float32Array.of(2), [])]);
  const [variance] = b.node('ReduceMean', [sq!], { axes: [-1] }, { name: `${name}.var` });
  const eps = b.initializer(`${name}.eps`, Float32Array.of(1e-5), []);
  const [ve] = b.node('Add', v.epsFirst ? [eps, variance!] : [variance!, eps]);
  const [sigma] = b.node('Sqrt', [ve!]);
  const [y] = v.reciprocal ? b.node('Mul', [d!, b.node('Reciprocal', [sigma!])[0]!]) : b.node('Div', [d!, sigma!]);
  const [scaled] = b.node('Mul', [y!, w(b, `${name}.weight`, [c])], {}, { name: `${name}.scale` });
  return b.node('Add', [scaled!, w(b, `${name}.bias`, [c])], {}, { name: `${name}.shift` })[0]!;
}

/** Gemm(10→c) → LayerNorm → Relu → Gemm(c→3): the openWakeWord classifier in miniature. */
function normMlp(c: number, v: NormVariant = {}, fc1Weight?: Float32Array): Model {
  const b = new GraphBuilder('norm-mlp', { opsets: { '': v.opset ?? 17 } });
  const x = b.input('x', 'float32', ['N', 10]);
  const h = fc1Weight
    ? b.node('Gemm', [x, b.initializer('fc1.weight', fc1Weight, [c, 10]), w(b, 'fc1.bias', [c])], { transB: 1 }, { name: 'fc1' })[0]!
    : gemm(b, 'fc1', x, 10, c);
  const y = gemm(b, 'fc2', relu(b, spelledLayerNorm(b, 'ln', h, c, v)), c, 3);
  b.output(y, 'float32', ['N', 3]);
  return b.build();
}

/** The same network built with only the surviving neurons `k` (weights gathered from `m0`). */
function keptNormMlp(m0: Model, k: number[]): Model {
  const b = new GraphBuilder('norm-mlp-kept');
  const x = b.input('x', 'float32', ['N', 10]);
  const init = (name: string, keeps: Array<number[] | undefined>, dims: number[]) => b.initializer(name, Float32Array.from(gathered(m0, name, keeps)), dims);
  const [h] = b.node('Gemm', [x, init('fc1.weight', [k], [k.length, 10]), init('fc1.bias', [k], [k.length])], { transB: 1 });
  const [mu] = b.node('ReduceMean', [h!], { axes: [-1] });
  const [d] = b.node('Sub', [h!, mu!]);
  const [variance] = b.node('ReduceMean', [b.node('Mul', [d!, d!])[0]!], { axes: [-1] });
  const [sigma] = b.node('Sqrt', [b.node('Add', [variance!, b.initializer('eps', Float32Array.of(1e-5), [])])[0]!]);
  const [scaled] = b.node('Mul', [b.node('Div', [d!, sigma!])[0]!, init('ln.weight', [k], [k.length])]);
  const [shifted] = b.node('Add', [scaled!, init('ln.bias', [k], [k.length])]);
  const out = m0.graph.outputs[0]!.name;
  b.node('Gemm', [relu(b, shifted!), init('fc2.weight', [undefined, k], [3, k.length]), init('fc2.bias', [undefined], [3])], { transB: 1 }, { outputs: [out] });
  b.output(out, 'float32', ['N', 3]);
  return b.build();
}

describe('prune channels: LayerNorm written out as ops', () => {
  it('prune: a spelled-out (or fused) LayerNorm passes the channels on, its scale and bias are sliced with them', async () => {
    for (const variant of [{}, { mulSquare: true, epsFirst: true, reciprocal: true }, { fused: true }, { fused: true, opset: 18 }]) {
      const m0 = normMlp(8, variant);
      const m1 = await copyOf(m0);
      const r = await pruneModel(m1, { channels: 0.5 });
      const k = survivors(m0, m1, 'fc1.bias', 'fc1.bias', 0);
      expect(k).toHaveLength(4);
      expect(dimsOf(m1, 'fc1.weight')).toEqual([4, 10]);
      expect(values(m1, 'ln.weight')).toEqual(gathered(m0, 'ln.weight', [k]));
      expect(values(m1, 'ln.bias')).toEqual(gathered(m0, 'ln.bias', [k]));
      expect(dimsOf(m1, 'fc2.weight')).toEqual([3, 4]);
      expect(r.verifyMaxDiff).toBeLessThan(1e-4); // the masked reference, its statistics over the kept features too
      expect(r.notes.join()).toMatch(/1 LayerNorm\(s\) \('ln.mean' \((ReduceMean|LayerNormalization)\)\) now normalize over the kept features only/);
      // The pruned model is the small network: its LayerNorm normalises over the kept features.
      const feeds = input([5, 10], 3);
      expect(await maxOutputDiff(keptNormMlp(m0, k), m1, feeds)).toBeLessThan(1e-5);
      // … which is not the original's normalisation, even with the removed features masked after it.
      const masked = await copyOf(m0);
      zeroSlices(masked, 'fc2.weight', 1, complement(8, k));
      expect(await maxOutputDiff(masked, m1, feeds)).toBeGreaterThan(1e-3);
    }
  });

  it('prune: with the removed features identically zero, only the statistics change (measured)', async () => {
    // fc1's neurons 0-3 are dead (zero weights): L1 ranking removes exactly them.
    const dead = Float32Array.from({ length: 80 }, (_, i) => (i < 40 ? 0 : Math.sin(i) + 1.5));
    const m0 = normMlp(8, {}, dead);
    const bias = m0.graph.initializers.get('fc1.bias')!;
    bias.setTyped(Float32Array.from(bias.toFloat32(), (v, i) => (i < 4 ? 0 : v)), [8]);
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5 });
    expect(survivors(m0, m1, 'fc1.weight', 'fc1.weight', 0)).toEqual([4, 5, 6, 7]);
    // Zero features still counted in the original's mean and variance (over 8, not 4): outputs differ.
    expect(await maxOutputDiff(m0, m1, input([5, 10], 3))).toBeGreaterThan(1e-3);
  });

  it('prune: a ReduceMean over the channels that is not a LayerNorm still keeps them', async () => {
    const b = new GraphBuilder('mean-gate');
    const x = b.input('x', 'float32', ['N', 10]);
    const h = gemm(b, 'fc1', x, 10, 8);
    const [mu] = b.node('ReduceMean', [h], { axes: [-1] }, { name: 'gate' });
    const [gated] = b.node('Mul', [h, b.node('Sigmoid', [mu!])[0]!]);
    b.output(gemm(b, 'fc2', gated!, 8, 3), 'float32', ['N', 3]);
    const m = b.build();
    const r = await pruneModel(m, { channels: 0.5 });
    expect(dimsOf(m, 'fc1.weight')).toEqual([8, 10]);
    expect(r.notes.join()).toMatch(/'fc1' kept: it reduces across the channels \(node 'gate'/);
  });

  it('prune: a LayerNorm whose output is a graph output keeps its channels', async () => {
    const b = new GraphBuilder('norm-out');
    const x = b.input('x', 'float32', ['N', 10]);
    b.output(spelledLayerNorm(b, 'ln', gemm(b, 'fc1', x, 10, 8), 8), 'float32', ['N', 8]);
    const m = b.build();
    const r = await pruneModel(m, { channels: 0.5 });
    expect(r.channelsRemoved).toBe(0);
    expect(dimsOf(m, 'ln.weight')).toEqual([8]);
    expect(r.notes.join()).toMatch(/'fc1' kept: graph output/);
  });
});

/** conv [N,4,3,3] → Reshape by a target computed from its own shape → Gemm. */
function computedReshape(kind: 'flatten' | 'keep-channels' | 'constant-part' | 'heads'): Model {
  const b = new GraphBuilder(`computed-${kind}`);
  const x = b.input('x', 'float32', ['N', 2, 3, 3]);
  const h = relu(b, conv(b, 'conv', x, 2, 4));
  const [shape] = b.node('Shape', [h], {}, { name: 'shape' });
  const i64 = (name: string, ...v: number[]) => b.initializer(name, BigInt64Array.from(v, BigInt), [v.length]);
  let target: string;
  if (kind === 'flatten') {
    // x.view(x.size(0), -1): Shape → Gather(0) → Unsqueeze → Concat([N], [-1]).
    const [n] = b.node('Gather', [shape!, b.initializer('zero', BigInt64Array.of(0n), [])], { axis: 0 });
    const [n1] = b.node('Unsqueeze', [n!, i64('axes0', 0)]);
    target = b.node('Concat', [n1!, i64('minus1', -1)], { axis: 0 }, { name: 'target' })[0]!;
  } else if (kind === 'keep-channels') {
    // paddle2onnx: Shape → Cast(int32) → Slice[0:2] → Cast(int64) → Concat([N, C], [-1]).
    const [s32] = b.node('Cast', [shape!], { to: 6 });
    const [nc] = b.node('Slice', [s32!, i64('s0', 0), i64('s2', 2)]);
    const [nc64] = b.node('Cast', [nc!], { to: 7 });
    target = b.node('Concat', [nc64!, i64('minus1', -1)], { axis: 0 }, { name: 'target' })[0]!;
  } else if (kind === 'constant-part') {
    // [N, C·H·W] with C·H·W a constant the exporter wrote out (36).
    const [n] = b.node('Gather', [shape!, i64('zero', 0)], { axis: 0 });
    target = b.node('Concat', [n!, i64('features', 36)], { axis: 0 }, { name: 'target' })[0]!;
  } else {
    // Head splitting: [N, 2 heads, C/2, H·W], C/2 computed by Div.
    const [c] = b.node('Gather', [shape!, i64('one', 1)], { axis: 0 });
    const [per] = b.node('Div', [c!, i64('heads', 2)]);
    target = b.node('Concat', [b.node('Gather', [shape!, i64('zero', 0)], { axis: 0 })[0]!, i64('two', 2), per!, i64('hw', 9)], { axis: 0 }, { name: 'target' })[0]!;
  }
  const [r] = b.node('Reshape', [h, target], {}, { name: 'reshape' });
  if (kind === 'heads') {
    b.node('ReduceSum', [r!], { axes: [2, 3], keepdims: 0 }, { outputs: ['out'] });
    b.output('out', 'float32', ['N', 2]);
  } else if (kind === 'keep-channels') {
    // [N, C, 9] → mean over the 9 positions → Gemm over the channels.
    const [pooled] = b.node('ReduceMean', [r!], { axes: [2], keepdims: 0 });
    b.output(gemm(b, 'fc', pooled!, 4, 3), 'float32', ['N', 3]);
  } else b.output(gemm(b, 'fc', r!, 36, 3), 'float32', ['N', 3]);
  return b.build();
}

describe('prune channels: Reshape targets computed from Shape → Gather → Concat', () => {
  for (const kind of ['flatten', 'keep-channels', 'constant-part'] as const) {
    it(`prune: a computed target (${kind}) is resolved with the batch dim free, the channels removed`, async () => {
      const m0 = computedReshape(kind);
      const m1 = await copyOf(m0);
      const r = await pruneModel(m1, { channels: 0.5 });
      const k = survivors(m0, m1, 'conv.bias', 'conv.bias', 0);
      expect(k).toHaveLength(2);
      expect(r.channelsRemoved).toBe(2);
      const features = kind === 'keep-channels' ? k : k.flatMap((c) => Array.from({ length: 9 }, (_, i) => c * 9 + i));
      expect(values(m1, 'fc.weight')).toEqual(gathered(m0, 'fc.weight', [undefined, features]));
      const ref = await copyOf(m0);
      zeroSlices(ref, 'fc.weight', 1, complement(kind === 'keep-channels' ? 4 : 36, features));
      for (const n of [1, 3]) {
        const feeds = input([n, 2, 3, 3], 5);
        expect(await maxOutputDiff(ref, m1, feeds)).toBeLessThan(1e-5);
        expect((await runModel(m1, feeds))[m1.graph.outputs[0]!.name]!.length).toBe(n * 3);
      }
    });
  }

  it('prune: the computed target becomes a constant where the channel count must change in it', async () => {
    const m1 = computedReshape('constant-part');
    await pruneModel(m1, { channels: 0.5 });
    const reshape = m1.graph.nodes.find((n) => n.name === 'reshape')!;
    expect(Array.from(m1.graph.initializers.get(reshape.inputs[1]!)!.typed() as BigInt64Array, Number)).toEqual([0, 18]);
    expect(m1.graph.nodes.map((n) => n.opType)).not.toContain('Shape'); // the shape computation is gone
  });

  it('prune: a computed target with a size shape inference cannot know (after a Conv on a free width) infers it (−1)', async () => {
    const b = new GraphBuilder('free-width');
    const x = b.input('x', 'float32', ['N', 2, 3, 'W']);
    const h = relu(b, conv(b, 'conv', x, 2, 4));
    const [shape] = b.node('Shape', [h]);
    const i64 = (name: string, ...v: number[]) => b.initializer(name, BigInt64Array.from(v, BigInt), [v.length]);
    const gather = (i: number) => b.node('Gather', [shape!, i64(`at${i}`, i)], { axis: 0 })[0]!;
    // [N, C·H, W'] with C·H written out (12) and W' read from the shape at run time.
    const [target] = b.node('Concat', [gather(0), i64('features', 12), gather(3)], { axis: 0 });
    const [r] = b.node('Reshape', [h, target!], {}, { name: 'reshape' });
    const [pooled] = b.node('ReduceMean', [r!], { axes: [2], keepdims: 0 });
    b.output(gemm(b, 'fc', pooled!, 12, 3), 'float32', ['N', 3]);
    const m0 = b.build();
    const m1 = await copyOf(m0);
    await pruneModel(m1, { channels: 0.5 });
    const k = survivors(m0, m1, 'conv.bias', 'conv.bias', 0);
    const features = k.flatMap((c) => [3 * c, 3 * c + 1, 3 * c + 2]);
    expect(values(m1, 'fc.weight')).toEqual(gathered(m0, 'fc.weight', [undefined, features]));
    const reshape = m1.graph.nodes.find((n) => n.name === 'reshape')!;
    expect(Array.from(m1.graph.initializers.get(reshape.inputs[1]!)!.typed() as BigInt64Array, Number)).toEqual([0, 6, -1]);
    const ref = await copyOf(m0);
    zeroSlices(ref, 'fc.weight', 1, complement(12, features));
    for (const w of [5, 8]) expect(await maxOutputDiff(ref, m1, input([2, 2, 3, w], 5))).toBeLessThan(1e-5);
  });

  it('prune: a computed target that splits the channel axis into heads is refused, naming the node', async () => {
    const m = computedReshape('heads');
    const err = await pruneModel(m, { channels: 0.5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/'conv' through node 'reshape' \(Reshape\): the reshape \[N,4,3,3\] → \[N,2,2,9\] splits the channel axis/);
  });

  it('prune: a Reshape output that is a graph output keeps its channels', async () => {
    const m = computedReshape('flatten');
    m.graph.outputs.push(m.graph.outputs[0]!.clone());
    m.graph.outputs[1]!.name = m.graph.nodes.find((n) => n.name === 'reshape')!.outputs[0]!;
    m.graph.outputs[1]!.type = { dtype: 'float32', shape: ['N', 36] };
    const r = await pruneModel(m, { channels: 0.5 });
    expect(r.channelsRemoved).toBe(0);
    expect(r.notes.join()).toMatch(/'conv' kept: graph output/);
  });
});
