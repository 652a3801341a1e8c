/**
 * TensorFlow.js set up for training in Node: the wasm backend (single-threaded, with the
 * gradient kernels it lacks), and seeded initial values so a run repeats bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mulberry32, shuffle } from '../math/random.ts';
import { registerWasmTrainingKernels } from './wasm-grad-kernels.ts';

/** Directory of the backend's .wasm binaries inside its installed package. */
function wasmDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
  // Emscripten in Node reads a plain path with fs; the prefix must end with a separator.
  return join(dirname(pkg), 'dist') + '/';
}

let ready: Promise<void> | undefined;

/**
 * Selects the wasm backend. Single-threaded: Node has no Worker global for the threaded
 * build, and one thread also keeps floating-point sums in a fixed order (repeatable runs).
 */
export function initTrainingBackend(): Promise<void> {
  ready ??= (async () => {
    registerWasmTrainingKernels();
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    setWasmPaths(wasmDir());
    if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js could not initialise its wasm backend');
  })().catch((err: unknown) => {
    ready = undefined; // let a later call try again
    throw err;
  });
  return ready;
}

/** A seeded source of the random numbers training needs (init, shuffling, augmentation). */
export class Seeded {
  readonly uniform: () => number;
  constructor(seed: number) {
    this.uniform = mulberry32(seed);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }

  /** Normal values with standard deviation `std`, e.g. He init: sqrt(2 / fanIn). */
  normals(count: number, std: number): Float32Array {
    return Float32Array.from({ length: count }, () => this.normal() * std);
  }

  /** A trainable variable of normal values (unnamed: tfjs names are global and must be unique). */
  variable(shape: number[], std: number): tf.Variable {
    return tf.variable(tf.tensor(this.normals(shape.reduce((a, b) => a * b, 1), std), shape));
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): number[] {
    return shuffle(Array.from({ length: n }, (_, i) => i), this.uniform);
  }
}
