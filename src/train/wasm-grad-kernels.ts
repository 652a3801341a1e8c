/**
 * Gradient kernels for TensorFlow.js's wasm backend, which (in 4.22) cannot train conv nets:
 * it lacks Conv2DBackpropFilter, both depthwise backprops and UnsortedSegmentSum (Gather's
 * gradient), and its native Conv2DBackpropInput is a naive loop about 10x slower than a
 * forward convolution. Each is rewritten here as one forward (depthwise) convolution, which
 * the backend runs through XNNPACK:
 * - a filter gradient correlates the input with the output gradient, the batch taking the
 *   place of the channels and the stride becoming a dilation;
 * - an input gradient convolves the output gradient, spread out by the stride, with the
 *   filter flipped in space (a transposed convolution).
 * Its BatchMatMul is fast (XNNPACK) only for a single product without transposes, yet the
 * gradient of x @ W is x^T @ dy and dy @ W^T: those get their operand transposed first.
 * Its MaxPoolGrad loses gradient for some windows: it is rebuilt from comparisons here.
 * Relu6, Sigmoid and Tanh need nothing: their tfjs gradients are built from ordinary ops.
 */
import * as tf from '@tensorflow/tfjs';
// The backend registers its own kernels on import; it must come first so ours replace them.
import '@tensorflow/tfjs-backend-wasm';

type Conv2DInfo = tf.backend_util.Conv2DInfo;
type Pads = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Explicit spatial padding for an NHWC tensor; a negative amount crops instead, which
 * convolutions cannot express.
 */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): { x: tf.Tensor4D; pads: Pads } {
  const [n, h, w, c] = x.shape;
  const crop = [Math.max(-top, 0), Math.max(-bottom, 0), Math.max(-left, 0), Math.max(-right, 0)];
  const cropped = crop.some((v) => v > 0) ? x.slice([0, crop[0], crop[2], 0], [n, h - crop[0] - crop[1], w - crop[2] - crop[3], c]) : x;
  const pads: Pads = [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]];
  return { x: cropped, pads };
}

/** Inserts stride-1 zeros after every row and column: [n,h,w,c] -> [n,h*sh,w*sw,c]. */
function spread(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape;
  return x
    .reshape([n, h, 1, w, 1, c])
    .pad([[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]])
    .reshape([n, h * sh, w * sw, c]);
}

function convInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: { strides: [number, number] | number; pad: tf.backend_util.ExplicitPadding | 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil'; dilations?: [number, number] | number; dataFormat?: 'NHWC' | 'NCHW' },
  depthwise: boolean,
): Conv2DInfo {
  if (attrs.dataFormat === 'NCHW') throw new Error('wasm training kernels support only NHWC convolutions');
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('wasm training kernels support only undilated convolutions');
  return info;
}

/**
 * dW[a,b,ci,co] = sum over n,i,j of x[n, i*sh+a-top, j*sw+b-left, ci] * dy[n,i,j,co], for a
 * [kh,kw,ci,co] filter (depthwise: co = ci*m+q, filter [kh,kw,ci,m], no sum across channels).
 */
function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, info: Conv2DInfo, depthwise: boolean): tf.Tensor4D {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, padInfo } = info;
  // Rows past the last window are never read: pad (or crop) the input to exactly the span used.
  const bottom = (oh - 1) * sh + kh - h - padInfo.top;
  const right = (ow - 1) * sw + kw - w - padInfo.left;
  const dilation: [number, number] = [sh, sw];
  if (!depthwise) {
    // The batch becomes the contraction (channel) axis and the input channels the batch.
    const p = padOrCrop(x.transpose([3, 1, 2, 0]), padInfo.top, bottom, padInfo.left, right);
    const taps = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, n, co]
    return tf.conv2d(p.x, taps, 1, p.pads, 'NHWC', dilation).transpose([1, 2, 0, 3]);
  }
  // Depthwise: one image of n*c channels, each correlated with its own dy channels, then summed over n.
  const m = co / c;
  const xs = x.transpose([1, 2, 0, 3]).reshape([1, h, w, n * c]) as tf.Tensor4D;
  const p = padOrCrop(xs, padInfo.top, bottom, padInfo.left, right);
  const taps = dy.reshape([n, oh, ow, c, m]).transpose([1, 2, 0, 3, 4]).reshape([oh, ow, n * c, m]) as tf.Tensor4D;
  return tf.depthwiseConv2d(p.x, taps, 1, p.pads, 'NHWC', dilation).reshape([kh, kw, n, c, m]).sum(2);
}

/** dx for a convolution of x (shape `info.in*`) with `filter`: a transposed convolution of dy. */
function inputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, info: Conv2DInfo, depthwise: boolean): tf.Tensor4D {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, padInfo } = info;
  const spreadDy = spread(dy, sh, sw);
  // Full correlation: kh-1 rows before the first output row, less the forward padding; then
  // as many after as make the result h rows (negative when the spread overshoots).
  const top = kh - 1 - padInfo.top;
  const left = kw - 1 - padInfo.left;
  const p = padOrCrop(spreadDy, top, h + kh - 1 - top - spreadDy.shape[1], left, w + kw - 1 - left - spreadDy.shape[2]);
  const flipped = filter.reverse([0, 1]);
  if (!depthwise) return tf.conv2d(p.x, flipped.transpose([0, 1, 3, 2]) as tf.Tensor4D, 1, p.pads);
  const m = filter.shape[3];
  const perChannel = flipped.reshape([kh, kw, c * m, 1]) as tf.Tensor4D;
  return tf.depthwiseConv2d(p.x, perChannel, 1, p.pads).reshape([n, h, w, c, m]).sum(4);
}

/** out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s (ids outside [0, S) dropped, as in TF). */
function unsortedSegmentSum(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  const rows = x.shape[0] ?? 1;
  const oneHot = tf.oneHot(segmentIds.cast('int32').reshape([rows]), numSegments); // [rows, S]
  const sums = tf.matMul(oneHot.cast('float32'), x.cast('float32').reshape([rows, -1]), true, false);
  return sums.reshape([numSegments, ...x.shape.slice(1)]).cast(x.dtype);
}

type Compute = (inputs: Record<string, tf.Tensor>, attrs: tf.NamedAttrMap) => tf.Tensor;

/** A kernel computed with tf ops (themselves wasm kernels; ops run inside a kernel are not taped). */
function viaOps(kernelName: string, compute: Compute): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs }) =>
      tf.tidy(() => {
        // Ops hand their Tensors to runKernel as they are. Wrapping a bare TensorInfo instead
        // would not take a reference on its data, and disposing the wrapper would free it.
        const tensors: Record<string, tf.Tensor> = {};
        for (const [k, info] of Object.entries(inputs)) {
          if (!(info instanceof tf.Tensor)) throw new Error(`${kernelName}: input '${k}' is not a Tensor`);
          tensors[k] = info;
        }
        return compute(tensors, attrs ?? {});
      }),
  };
}

/**
 * The backend's own BatchMatMul, fed explicit transposes when there is a single product: a
 * transpose plus the fast path costs about a tenth of the transposed product.
 */
function fastTransposedMatMul(native: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.BatchMatMul,
    backendName: 'wasm',
    // The native kernel binds its wasm function when the backend starts.
    setupFunc: native.setupFunc,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.Tensor; b: tf.Tensor };
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      const single = a.shape.slice(0, -2).concat(b.shape.slice(0, -2)).every((d) => d === 1);
      if (!single || (!transposeA && !transposeB)) return native.kernelFunc(args);
      const swap = (t: tf.Tensor) => t.transpose([...Array(t.rank - 2).keys(), t.rank - 1, t.rank - 2]);
      const swapped = { a: transposeA ? swap(a) : a, b: transposeB ? swap(b) : b };
      try {
        return native.kernelFunc({ ...args, inputs: swapped, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
      } finally {
        if (transposeA) swapped.a.dispose();
        if (transposeB) swapped.b.dispose();
      }
    },
  };
}

/**
 * dx of a max pool: each window's dy goes to the first position (window order, as in
 * onnxruntime and PyTorch) holding the window's maximum. The wasm backend's own MaxPoolGrad
 * (and its MaxPoolWithArgmax) drop some windows, measured against the CPU backend. The
 * input is compared with the maximum one window offset at a time; an offset claims the
 * windows no earlier offset claimed. Correct for any pool, but kh*kw rounds of small ops:
 * the ONNX executor runs non-overlapping pools as a chain of maximums instead.
 */
function maxPoolGrad(dy: tf.Tensor4D, x: tf.Tensor4D, y: tf.Tensor4D, attrs: tf.NamedAttrMap): tf.Tensor4D {
  const info = tf.backend_util.computePool2DInfo(
    x.shape,
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, padInfo } = info;
  const [n, h, w, c] = x.shape;
  // Padded so that every window offset can take an [oh*sh, ow*sw] block.
  const ph = (oh - 1) * sh + kh + sh;
  const pw = (ow - 1) * sw + kw + sw;
  const xp = x.pad([[0, 0], [padInfo.top, ph - h - padInfo.top], [padInfo.left, pw - w - padInfo.left], [0, 0]], -Infinity);
  let free = tf.onesLike(y).cast('bool');
  let dx = tf.zeros([n, ph, pw, c]) as tf.Tensor4D;
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      // Kernel code is not taped, so stridedSlice (which has no gradient) may sample the window offset.
      const xs = tf.stridedSlice(xp, [0, a, b, 0], [n, a + oh * sh, b + ow * sw, c], [1, sh, sw, 1]);
      const hit = xs.equal(y).logicalAnd(free);
      free = free.logicalAnd(hit.logicalNot());
      const part = spread(tf.where(hit, dy, tf.zerosLike(dy)) as tf.Tensor4D, sh, sw);
      dx = dx.add(part.pad([[0, 0], [a, ph - a - oh * sh], [b, pw - b - ow * sw], [0, 0]]));
    }
  }
  return dx.slice([0, padInfo.top, padInfo.left, 0], [n, h, w, c]);
}

/**
 * Identity, and a Cast to the dtype a tensor already has, as shared data: the backend's own
 * copy every byte, and the engine clones each tensor a gradient will need while the tape
 * records (hundreds per training step). Tensor data never changes in place, so sharing it
 * is safe — the CPU backend's Identity and the wasm backend's own Reshape do the same.
 */
function sharedData(kernelName: string, native?: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const dtype = (args.attrs?.dtype as tf.DataType | undefined) ?? x.dtype;
      if (dtype !== x.dtype || x.dtype === 'string') return native!.kernelFunc(args);
      (args.backend as tf.KernelBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype };
    },
  };
}

type ConvAttrs = Parameters<typeof convInfo>[2];
const conv = (attrs: tf.NamedAttrMap) => attrs as unknown as ConvAttrs & { filterShape: number[]; inputShape: number[] };

const KERNELS: tf.KernelConfig[] = [
  viaOps(tf.Conv2DBackpropFilter, ({ x, dy }, attrs) => filterGrad(x as tf.Tensor4D, dy as tf.Tensor4D, convInfo(x.shape, conv(attrs).filterShape, conv(attrs), false), false)),
  viaOps(tf.Conv2DBackpropInput, ({ dy, filter }, attrs) => inputGrad(dy as tf.Tensor4D, filter as tf.Tensor4D, convInfo(conv(attrs).inputShape, filter.shape, conv(attrs), false), false)),
  viaOps(tf.DepthwiseConv2dNativeBackpropFilter, ({ x, dy }, attrs) => filterGrad(x as tf.Tensor4D, dy as tf.Tensor4D, convInfo(x.shape, conv(attrs).filterShape, conv(attrs), true), true)),
  viaOps(tf.DepthwiseConv2dNativeBackpropInput, ({ dy, filter }, attrs) => inputGrad(dy as tf.Tensor4D, filter as tf.Tensor4D, convInfo(conv(attrs).inputShape, filter.shape, conv(attrs), true), true)),
  viaOps(tf.MaxPoolGrad, ({ dy, input, output }, attrs) => maxPoolGrad(dy as tf.Tensor4D, input as tf.Tensor4D, output as tf.Tensor4D, attrs)),
  viaOps(tf.UnsortedSegmentSum, ({ x, segmentIds }, attrs) => unsortedSegmentSum(x, segmentIds, attrs.numSegments as number)),
];

let wrapped: tf.KernelConfig[] | undefined;

/**
 * Registers the kernels above for the wasm backend, replacing its slow Conv2DBackpropInput
 * and wrapping its BatchMatMul. Idempotent; call before or after selecting the backend.
 */
export function registerWasmTrainingKernels(): void {
  const native = (name: string): tf.KernelConfig => {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`the wasm backend has no ${name} kernel`);
    return k;
  };
  // Wrap the native kernels once: later calls find the wrappers registered and keep them.
  wrapped ??= [fastTransposedMatMul(native(tf.BatchMatMul)), sharedData(tf.Identity, native(tf.Identity)), sharedData(tf.Cast, native(tf.Cast))];
  for (const config of [...KERNELS, ...wrapped]) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
}
