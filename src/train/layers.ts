/**
 * Layers that run in TensorFlow.js and write themselves as ONNX. Each pairs its tfjs forward
 * with the ONNX nodes for the same computation, side by side, so an exported model mirrors
 * the trained one op for op. tfjs convolves NHWC, ONNX NCHW: images enter tfjs through
 * `nchwToNhwc` and leave through `flatten`, and conv weights are transposed at export.
 */
import * as tf from '@tensorflow/tfjs';
import { float, type GraphBuilder } from '../ir/builder.ts';
import type { Seeded } from './backend.ts';

export interface Layer {
  /** tfjs forward. `training` normalises with batch statistics and updates running ones. */
  apply(x: tf.Tensor, training: boolean): tf.Tensor;
  /** Appends the same computation to an ONNX graph; returns the output value's name. */
  emit(g: Emitter, x: string): string;
  /** Variables the optimizer updates. */
  readonly trainable: tf.Variable[];
}

/** A GraphBuilder with the shorthands layers need; node and initializer names are PyTorch-like. */
export class Emitter {
  constructor(readonly b: GraphBuilder) {}

  op(opType: string, inputs: string[], name: string, attrs: Parameters<GraphBuilder['node']>[2] = {}): string {
    return this.b.node(opType, inputs, attrs, { name })[0]!;
  }

  /** An initializer from a tensor, optionally transposed to ONNX's layout first. */
  weight(name: string, t: tf.Tensor, perm?: number[]): string {
    const data = tf.tidy(() => (perm ? t.transpose(perm) : t).dataSync() as Float32Array);
    return this.b.initializer(name, data, perm ? perm.map((p) => t.shape[p]!) : t.shape);
  }

  scalar(name: string, value: number): string {
    return this.b.initializer(name, Float32Array.of(value), []);
  }

  shape(name: string, dims: number[]): string {
    return this.b.initializer(name, BigInt64Array.from(dims, BigInt), [dims.length]);
  }
}

const zeros = (shape: number[]) => tf.variable(tf.zeros(shape));

/** Chains layers. */
export function sequential(layers: Layer[]): Layer {
  return {
    apply: (x, training) => layers.reduce((h, l) => l.apply(h, training), x),
    emit: (g, x) => layers.reduce((h, l) => l.emit(g, h), x),
    trainable: layers.flatMap((l) => l.trainable),
  };
}

/** x + f(x). */
export function residual(name: string, body: Layer[]): Layer {
  const f = sequential(body);
  return {
    apply: (x, training) => x.add(f.apply(x, training)),
    emit: (g, x) => g.op('Add', [x, f.emit(g, x)], name),
    trainable: f.trainable,
  };
}

/** A stateless op: same tfjs function and ONNX node(s) whatever the input. */
function stateless(apply: (x: tf.Tensor) => tf.Tensor, emit: (g: Emitter, x: string) => string): Layer {
  return { apply: (x) => apply(x), emit, trainable: [] };
}

/** The model input is NCHW as in ONNX; tfjs convolutions want NHWC. Nothing to emit. */
export const nchwToNhwc = (): Layer => stateless((x) => x.transpose([0, 2, 3, 1]), (_g, x) => x);

export const relu = (name: string): Layer => stateless((x) => tf.relu(x), (g, x) => g.op('Relu', [x], name));

/** ReLU6 as ONNX writes it: Clip(x, 0, 6). */
export const relu6 = (name: string): Layer =>
  stateless((x) => tf.relu6(x), (g, x) => g.op('Clip', [x, g.scalar(`${name}.min`, 0), g.scalar(`${name}.max`, 6)], name));

export const maxPool = (name: string, size: number): Layer =>
  stateless((x) => tf.maxPool(x as tf.Tensor4D, size, size, 'valid'), (g, x) => g.op('MaxPool', [x], name, { kernel_shape: [size, size], strides: [size, size] }));

/** NHWC -> [N, C*H*W] in NCHW order, so the next weight matches ONNX's Flatten. */
export const flatten = (name: string): Layer =>
  stateless((x) => x.transpose([0, 3, 1, 2]).reshape([x.shape[0]!, -1]), (g, x) => g.op('Flatten', [x], name, { axis: 1 }));

/** NHWC -> [N, C]. */
export const globalAvgPool = (name: string): Layer =>
  stateless((x) => x.mean([1, 2]), (g, x) => g.op('Flatten', [g.op('GlobalAveragePool', [x], name)], `${name}.flatten`, { axis: 1 }));

export const reshape = (name: string, dims: number[]): Layer =>
  stateless((x) => x.reshape(dims), (g, x) => g.op('Reshape', [x, g.shape(`${name}.shape`, dims)], name));

export interface ConvOptions {
  kernel: number;
  stride?: number;
  /** Zeros on every side (PyTorch's symmetric padding). */
  pad?: number;
  /** One filter per input channel (outChannels = inChannels). */
  depthwise?: boolean;
  bias?: boolean;
}

/** Conv with He init; tfjs filter [k,k,in,out] (depthwise [k,k,C,1]), ONNX [out,in/group,k,k]. */
export function conv2d(rng: Seeded, name: string, inC: number, outC: number, o: ConvOptions): Layer {
  const { kernel: k, stride = 1, pad = 0, depthwise = false } = o;
  if (depthwise && inC !== outC) throw new Error(`${name}: a depthwise conv keeps its ${inC} channels`);
  const w = rng.variable([k, k, inC, depthwise ? 1 : outC], Math.sqrt(2 / ((depthwise ? 1 : inC) * k * k)));
  const b = o.bias === false ? undefined : zeros([outC]);
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
  return {
    apply: (x) => {
      const y = depthwise ? tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pads) : tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pads);
      return b ? y.add(b) : y;
    },
    emit: (g, x) => {
      const inputs = [x, g.weight(`${name}.weight`, w, depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1])];
      if (b) inputs.push(g.weight(`${name}.bias`, b));
      return g.op('Conv', inputs, name, { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], group: depthwise ? inC : 1 });
    },
    trainable: b ? [w, b] : [w],
  };
}

/**
 * BatchNormalization over the last (channel) axis, with running mean and variance kept as
 * PyTorch does (momentum 0.1, unbiased variance) and exported as ONNX's inference form.
 */
export function batchNorm(name: string, channels: number, momentum = 0.1, epsilon = 1e-5): Layer {
  const scale = tf.variable(tf.ones([channels]));
  const shift = zeros([channels]);
  const mean = tf.variable(tf.zeros([channels]), false);
  const variance = tf.variable(tf.ones([channels]), false);
  return {
    apply: (x, training) => {
      if (!training) return x.sub(mean).mul(variance.add(epsilon).rsqrt()).mul(scale).add(shift);
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      const batch = tf.moments(x, axes);
      const n = x.size / channels;
      // Not differentiated: assignments are not on the gradient tape.
      mean.assign(tf.tidy(() => mean.mul(1 - momentum).add(batch.mean.mul(momentum))));
      variance.assign(tf.tidy(() => variance.mul(1 - momentum).add(batch.variance.mul((momentum * n) / Math.max(n - 1, 1)))));
      return x.sub(batch.mean).mul(batch.variance.add(epsilon).rsqrt()).mul(scale).add(shift);
    },
    emit: (g, x) =>
      g.op(
        'BatchNormalization',
        [x, g.weight(`${name}.weight`, scale), g.weight(`${name}.bias`, shift), g.weight(`${name}.running_mean`, mean), g.weight(`${name}.running_var`, variance)],
        name,
        { epsilon: float(epsilon), momentum: float(1 - momentum) },
      ),
    trainable: [scale, shift],
  };
}

/** x @ W + b with W [in, out]: as ONNX Gemm (weight stored [out, in], transB=1) or MatMul + Add. */
export function dense(rng: Seeded, name: string, inF: number, outF: number, as: 'Gemm' | 'MatMul'): Layer {
  const w = rng.variable([inF, outF], Math.sqrt(2 / inF));
  const b = zeros([outF]);
  return {
    apply: (x) => {
      // MatMul broadcasts over leading axes (tokens); tfjs matMul wants rank 2 here.
      const lead = x.shape.slice(0, -1);
      return x.reshape([-1, inF]).matMul(w).add(b).reshape([...lead, outF]);
    },
    emit: (g, x) =>
      as === 'Gemm'
        ? g.op('Gemm', [x, g.weight(`${name}.weight`, w, [1, 0]), g.weight(`${name}.bias`, b)], name, { transB: 1 })
        : g.op('Add', [g.op('MatMul', [x, g.weight(`${name}.weight`, w)], `${name}.matmul`), g.weight(`${name}.bias`, b)], name),
    trainable: [w, b],
  };
}
