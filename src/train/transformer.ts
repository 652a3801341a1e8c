/**
 * Transformer-encoder layers over tokens [N, T, D], written as ONNX exporters do at opset
 * 17: LayerNormalization as one node, attention as MatMul/Transpose/Softmax, and GELU
 * spelled out with Erf.
 */
import * as tf from '@tensorflow/tfjs';
import { float } from '../ir/builder.ts';
import type { Seeded } from './backend.ts';
import { dense, type Layer } from './layers.ts';

export function layerNorm(name: string, dim: number, epsilon = 1e-5): Layer {
  const scale = tf.variable(tf.ones([dim]));
  const shift = tf.variable(tf.zeros([dim]));
  return {
    apply: (x) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return x.sub(mean).mul(variance.add(epsilon).rsqrt()).mul(scale).add(shift);
    },
    emit: (g, x) => g.op('LayerNormalization', [x, g.weight(`${name}.weight`, scale), g.weight(`${name}.bias`, shift)], name, { axis: -1, epsilon: float(epsilon) }),
    trainable: [scale, shift],
  };
}

/** A learned embedding per token position, added to the tokens. */
export function positional(rng: Seeded, name: string, tokens: number, dim: number): Layer {
  const table = rng.variable([tokens, dim], 0.02);
  return {
    apply: (x) => x.add(table),
    emit: (g, x) => g.op('Add', [x, g.weight(name, table)], `${name}.add`),
    trainable: [table],
  };
}

/** x * 0.5 * (1 + erf(x / sqrt 2)), the exact GELU, one ONNX node per step. */
export function gelu(name: string): Layer {
  return {
    apply: (x) => x.mul(0.5).mul(tf.erf(x.div(Math.SQRT2)).add(1)),
    emit: (g, x) => {
      const erf = g.op('Erf', [g.op('Div', [x, g.scalar(`${name}.sqrt2`, Math.SQRT2)], `${name}.div`)], `${name}.erf`);
      const half = g.op('Mul', [x, g.scalar(`${name}.half`, 0.5)], `${name}.mul_half`);
      return g.op('Mul', [half, g.op('Add', [erf, g.scalar(`${name}.one`, 1)], `${name}.add_one`)], name);
    },
    trainable: [],
  };
}

/** Mean over the token axis: [N, T, D] -> [N, D]. */
export function meanTokens(name: string): Layer {
  return { apply: (x) => x.mean(1), emit: (g, x) => g.op('ReduceMean', [x], name, { axes: [1], keepdims: 0 }), trainable: [] };
}

/** Multi-head self-attention over `tokens` tokens of width `dim`, with output projection. */
export function attention(rng: Seeded, name: string, tokens: number, dim: number, heads: number): Layer {
  if (dim % heads !== 0) throw new Error(`${name}: ${dim} does not split into ${heads} heads`);
  const dh = dim / heads;
  const [q, k, v, out] = ['q', 'k', 'v', 'out'].map((p) => dense(rng, `${name}.${p}_proj`, dim, dim, 'MatMul')) as [Layer, Layer, Layer, Layer];
  const split = [-1, tokens, heads, dh];
  const scale = 1 / Math.sqrt(dh);
  return {
    apply: (x, training) => {
      const heads4 = (p: Layer) => p.apply(x, training).reshape(split);
      const qh = heads4(q).transpose([0, 2, 1, 3]); // [N, H, T, dh]
      const kt = heads4(k).transpose([0, 2, 3, 1]); // [N, H, dh, T]
      const vh = heads4(v).transpose([0, 2, 1, 3]);
      const weights = tf.softmax(tf.matMul(qh, kt).mul(scale), -1);
      const merged = tf.matMul(weights, vh).transpose([0, 2, 1, 3]).reshape([-1, tokens, dim]);
      return out.apply(merged, training);
    },
    emit: (g, x) => {
      const splitShape = g.shape(`${name}.split_shape`, split);
      const heads4 = (p: Layer, tag: string, perm: number[]) =>
        g.op('Transpose', [g.op('Reshape', [p.emit(g, x), splitShape], `${name}.${tag}_split`)], `${name}.${tag}_heads`, { perm });
      const qh = heads4(q, 'q', [0, 2, 1, 3]);
      const kt = heads4(k, 'k', [0, 2, 3, 1]);
      const vh = heads4(v, 'v', [0, 2, 1, 3]);
      const scores = g.op('Mul', [g.op('MatMul', [qh, kt], `${name}.scores`), g.scalar(`${name}.scale`, scale)], `${name}.scaled`);
      const weights = g.op('Softmax', [scores], `${name}.softmax`, { axis: -1 });
      const mixed = g.op('Transpose', [g.op('MatMul', [weights, vh], `${name}.mix`)], `${name}.merge_heads`, { perm: [0, 2, 1, 3] });
      return out.emit(g, g.op('Reshape', [mixed, g.shape(`${name}.merge_shape`, [-1, tokens, dim])], `${name}.merge`));
    },
    trainable: [q, k, v, out].flatMap((p) => p.trainable),
  };
}
