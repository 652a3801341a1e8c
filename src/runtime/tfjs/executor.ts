/**
 * The trainable executor: an ONNX graph run as tfjs ops. Float initializers at a trainable
 * input position (ops/trainable.ts) become tfjs variables, so `tf.variableGrads` over a run
 * differentiates the graph as written; BatchNormalization running statistics become
 * non-trainable variables updated in train mode; an integer weight behind
 * DequantizeLinear becomes a float shadow (quant-aware training). `writeBack` puts the
 * values into the model's own initializers: names, dtypes and graph are unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../../ir/model.ts';
import type { Node } from '../../ir/node.ts';
import type { Tensor } from '../../ir/tensor.ts';
import { isFloatDType } from '../../onnx/dtype.ts';
import { toHalf } from '../../math/float16.ts';
import { trainableSpec } from '../../ops/trainable.ts';
import { assertTrainable } from './check.ts';
import type { KernelContext } from './kernel.ts';
import { kernelFor } from './kernels.ts';
import { INT_RANGE, requantize } from './quantization.ts';
import { tensorToTf } from './shape.ts';
import { Value } from './value.ts';

export interface ExecutorOptions {
  /** Names the model in error messages. */
  label?: string;
  /** Train integer weights behind DequantizeLinear as float shadows (else they stay constants). Default true. */
  quantAware?: boolean;
}

export interface RunOptions {
  /** Train mode (batch statistics in BatchNormalization). Default false. */
  training?: boolean;
  /** In train mode, move BatchNormalization running statistics. Default true. */
  updateStats?: boolean;
  /** Weight of the old running statistics in that move, instead of each node's `momentum`. */
  statsMomentum?: number;
  /** Values to compute; default every graph output. */
  fetch?: readonly string[];
}

export class TrainableGraph {
  /** Trainable parameters by initializer name. */
  readonly params = new Map<string, tf.Variable>();
  /** BatchNormalization running statistics by initializer name. */
  readonly buffers = new Map<string, tf.Variable>();
  private readonly constants = new Map<string, { tensor: tf.Tensor; dtype: Value['dtype'] }>();
  private readonly constantNodes = new Map<string, Tensor>();
  /** Integer weight name → the DequantizeLinear node that reads it. */
  private readonly shadows = new Map<string, Node>();
  private readonly hostCache = new Map<string, number[]>();
  private readonly producers = new Map<string, Node>();
  readonly opset: number;
  readonly label: string;

  constructor(readonly model: Model, options: ExecutorOptions = {}) {
    this.label = options.label ?? (model.graph.name || 'model');
    assertTrainable(model, this.label);
    this.opset = model.opset('');
    const g = model.graph;
    const trainable = new Set<string>();
    const stats = new Set<string>();
    for (const node of g.nodes) {
      const value = node.opType === 'Constant' ? node.getTensor('value') : undefined;
      if (value) {
        // Uploaded once, like an initializer, instead of by the node's kernel in every run.
        this.constantNodes.set(node.outputs[0]!, value);
        this.constants.set(node.outputs[0]!, tensorToTf(value));
        continue;
      }
      for (const o of node.outputs) if (o) this.producers.set(o, node);
      for (const i of trainableSpec(node.opType)?.params ?? []) {
        const t = g.initializers.get(node.inputs[i] ?? '');
        if (t && isFloatDType(t.dtype) && t.size > 1) trainable.add(t.name);
      }
      if (node.opType === 'BatchNormalization') for (const i of [3, 4]) if (node.inputs[i]) stats.add(node.inputs[i]!);
      const w = g.initializers.get(node.inputs[0] ?? '');
      if (node.opType === 'DequantizeLinear' && options.quantAware !== false && w && INT_RANGE[w.dtype]) this.shadows.set(w.name, node);
    }
    for (const [name, t] of g.initializers) {
      if (this.shadows.has(name)) this.params.set(name, tf.variable(this.dequantized(t, this.shadows.get(name)!), true));
      else if (trainable.has(name)) this.params.set(name, tf.variable(tensorToTf(t).tensor, true));
      else if (stats.has(name) && isFloatDType(t.dtype)) this.buffers.set(name, tf.variable(tensorToTf(t).tensor, false));
      else this.constants.set(name, tensorToTf(t));
    }
  }

  private dequantized(w: Tensor, dq: Node): tf.Tensor {
    return tf.tidy(() => {
      const scale = this.hostNumbers(dq.inputs[1]!)!;
      const zp = dq.inputs[2] ? this.hostNumbers(dq.inputs[2])! : [0];
      const axis = (dq.getInt('axis', 1) + w.dims.length) % w.dims.length;
      const shape = w.dims.map((d, i) => (i === axis && scale.length > 1 ? d : 1));
      const q = tf.tensor(w.toFloat32(), w.dims);
      return q.sub(tf.tensor(zp, zp.length > 1 ? shape : [])).mul(tf.tensor(scale, scale.length > 1 ? shape : []));
    });
  }

  /** Values of an initializer or Constant output on the host, cached. */
  private hostNumbers(name: string): number[] | undefined {
    const cached = this.hostCache.get(name);
    if (cached) return cached;
    const t = this.model.graph.initializers.get(name) ?? this.constantNodes.get(name);
    if (!t) return undefined;
    const values = Array.from(t.toFloat32());
    this.hostCache.set(name, values);
    return values;
  }

  /** Every trainable variable, in initializer order (for tf.variableGrads). */
  get trainable(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** Nodes needed for `fetch`, in graph order. */
  private schedule(fetch: readonly string[]): Node[] {
    const needed = new Set<Node>();
    const stack = [...fetch];
    while (stack.length > 0) {
      const node = this.producers.get(stack.pop()!);
      if (!node || needed.has(node)) continue;
      needed.add(node);
      stack.push(...node.inputs.filter(Boolean));
    }
    return this.model.graph.nodes.filter((n) => needed.has(n));
  }

  /**
   * One forward pass. Call inside tf.tidy (or tf.variableGrads): the returned values'
   * tensors belong to the caller's scope.
   */
  run(feeds: Readonly<Record<string, tf.Tensor>>, options: RunOptions = {}): Record<string, Value> {
    const fetch = options.fetch ?? this.model.graph.outputs.map((o) => o.name);
    const env = new Map<string, Value>();
    for (const [name, t] of Object.entries(feeds)) env.set(name, new Value(t, t.dtype === 'int32' ? 'int64' : 'float32'));
    const lookup = (name: string): Value | undefined => {
      const v = env.get(name);
      if (v) return v;
      const p = this.params.get(name) ?? this.buffers.get(name);
      const c = this.constants.get(name);
      // Fresh wrappers per run: a Value caches layout conversions made inside this run's scope.
      const made = p ? new Value(p, 'float32') : c ? new Value(c.tensor, c.dtype) : undefined;
      if (made) env.set(name, made);
      return made;
    };
    for (const node of this.schedule(fetch)) {
      const ctx = this.context(node, lookup, options);
      const outs = kernelFor(node.opType)!.run(ctx);
      node.outputs.forEach((o, i) => {
        const r = outs[i];
        if (o && r) env.set(o, r instanceof Value ? r : new Value(r));
      });
    }
    const result: Record<string, Value> = {};
    for (const name of fetch) {
      const v = lookup(name);
      if (!v) throw new Error(`${this.label}: value '${name}' was not computed (not a graph value or input not fed)`);
      result[name] = v;
    }
    return result;
  }

  private context(node: Node, lookup: (name: string) => Value | undefined, options: RunOptions): KernelContext {
    const name = (i: number) => node.inputs[i] ?? '';
    return {
      node,
      opset: this.opset,
      training: options.training ?? false,
      updateStats: options.updateStats ?? true,
      statsMomentum: options.statsMomentum,
      value: (i) => (name(i) ? lookup(name(i)) : undefined),
      x: (i) => {
        const v = name(i) ? lookup(name(i)) : undefined;
        if (!v) throw new Error(`${node.label}: input ${i} ('${name(i)}') is missing`);
        return v.nchw();
      },
      numbers: (i) => {
        if (!name(i)) return undefined;
        const host = this.params.has(name(i)) ? undefined : this.hostNumbers(name(i));
        if (host) return host;
        const v = lookup(name(i));
        return v ? Array.from(v.nchw().dataSync() as ArrayLike<number>, Number) : undefined;
      },
      constant: (i) => this.model.graph.initializers.get(name(i)) ?? this.constantNodes.get(name(i)),
      isShadow: (i) => this.shadows.has(name(i)),
      stateVariable: (i) => this.buffers.get(name(i)),
    };
  }

  /** Copies trained values (and running statistics) into the model's initializers, in their own dtypes. */
  writeBack(model: Model = this.model): void {
    for (const [name, v] of [...this.params, ...this.buffers]) {
      const t = model.graph.initializers.get(name);
      if (!t) throw new Error(`${this.label}: initializer '${name}' is not in the model`);
      const values = Float32Array.from(v.dataSync() as Float32Array);
      const dq = this.shadows.get(name);
      if (dq) {
        const zp = dq.inputs[2] ? this.hostNumbers(dq.inputs[2])! : [0];
        t.setTyped(requantize(values, t, this.hostNumbers(dq.inputs[1]!)!, zp, dq.getInt('axis', 1)), t.dims);
      } else if (t.dtype === 'float16') {
        t.setRaw('float16', t.dims, new Uint8Array(toHalf(values).buffer));
      } else {
        t.setTyped(values, t.dims);
      }
    }
  }

  dispose(): void {
    for (const v of [...this.params.values(), ...this.buffers.values()]) v.dispose();
    for (const c of this.constants.values()) c.tensor.dispose();
  }
}
