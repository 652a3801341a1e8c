/**
 * Loops written in TypeScript over the wasm backend's own memory. A few training ops are one
 * pass over a feature map with per-channel numbers, which the backend can only express as
 * broadcasts it runs element by element; a plain loop is faster — but only on memory that
 * is already touched: a fresh host array of a feature map costs more in page faults on
 * these machines than the arithmetic (a 600 KB Float32Array: ~2 ms). So inputs are read as
 * views of the backend's heap and outputs are allocated by the backend, which reuses its
 * memory; no copies either way.
 */
import * as tf from '@tensorflow/tfjs';

interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

function heapBackend(): HeapBackend {
  const b = tf.backend() as unknown as Partial<HeapBackend>;
  if (tf.getBackend() !== 'wasm' || !b.makeOutput || !b.typedArrayFromHeap) throw new Error(`heap kernels need the wasm backend, not '${tf.getBackend()}'`);
  return b as HeapBackend;
}

/**
 * Allocates float32 outputs of the given shapes on the backend, then calls `fill` with views
 * of the inputs and of the outputs. Views are taken after every allocation (an allocation may
 * grow the heap, which detaches older views) and must not be kept past `fill`.
 */
export function onHeap(inputs: readonly tf.Tensor[], shapes: readonly number[][], fill: (ins: Float32Array[], outs: Float32Array[]) => void): tf.Tensor[] {
  const backend = heapBackend();
  const made = shapes.map((s) => backend.makeOutput([...s], 'float32'));
  for (const t of inputs) if (t.dtype !== 'float32') throw new Error(`heap kernels take float32 tensors, not ${t.dtype}`);
  fill(
    inputs.map((t) => backend.typedArrayFromHeap(t)),
    made.map((t) => backend.typedArrayFromHeap(t)),
  );
  return made.map((t) => tf.engine().makeTensorFromTensorInfo(t));
}
