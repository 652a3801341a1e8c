/**
 * A classifier: layers from input to logits, trainable in tfjs and exportable to ONNX with
 * input `input` [N, ...sample] and output `logits` [N, classes].
 */
import type * as tf from '@tensorflow/tfjs';
import { GraphBuilder } from '../ir/builder.ts';
import type { Model } from '../ir/model.ts';
import { Emitter, sequential, type Layer } from './layers.ts';

export class Net {
  private readonly body: Layer;

  constructor(
    readonly name: string,
    /** Shape of one sample, e.g. [1, 28, 28]. */
    readonly sampleShape: number[],
    readonly classes: number,
    layers: Layer[],
  ) {
    this.body = sequential(layers);
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    return this.body.apply(x, training);
  }

  get trainable(): tf.Variable[] {
    return this.body.trainable;
  }

  /** Trainable parameter count. */
  get params(): number {
    return this.trainable.reduce((n, v) => n + v.size, 0);
  }

  toOnnx(): Model {
    const b = new GraphBuilder(this.name, { opsets: { '': 17 } });
    const last = this.body.emit(new Emitter(b), b.input('input', 'float32', ['N', ...this.sampleShape]));
    // Layers name their outputs after their nodes; the graph output gets the public name.
    const producer = b.graph.nodes.find((n) => n.outputs.includes(last));
    if (!producer) throw new Error(`${this.name}: the last layer emitted no node`);
    producer.outputs[producer.outputs.indexOf(last)] = 'logits';
    b.output('logits', 'float32', ['N', this.classes]);
    return b.build();
  }
}
