/**
 * A value during one run of the tfjs executor. ONNX is channels-first; tfjs convolutions and
 * pools are channels-last. A rank-4 value can be held in either layout and converted on
 * demand (once, then cached), so a conv → BN → ReLU → pool chain stays channels-last and
 * pays one transpose on the way in and one on the way out, not one per op.
 */
import * as tf from '@tensorflow/tfjs';
import type { DType } from '../../onnx/dtype.ts';

export type Layout = 'nchw' | 'nhwc';

const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];

export class Value {
  private nchwTensor?: tf.Tensor;
  private nhwcTensor?: tf.Tensor4D;

  /** `dtype` is the ONNX dtype; integer values are held as int32 (tfjs has no int64). */
  constructor(t: tf.Tensor, readonly dtype: DType = 'float32', layout: Layout = 'nchw') {
    if (layout === 'nhwc') this.nhwcTensor = t as tf.Tensor4D;
    else this.nchwTensor = t;
  }

  get rank(): number {
    return (this.nchwTensor ?? this.nhwcTensor)!.rank;
  }

  /** Whichever layout is at hand, without converting. */
  get held(): { t: tf.Tensor; layout: Layout } {
    return this.nchwTensor ? { t: this.nchwTensor, layout: 'nchw' } : { t: this.nhwcTensor!, layout: 'nhwc' };
  }

  /** The ONNX shape (channels-first). */
  get shape(): number[] {
    if (this.nchwTensor) return this.nchwTensor.shape;
    const [n, h, w, c] = this.nhwcTensor!.shape;
    return [n, c, h, w];
  }

  /** The tensor in ONNX layout. */
  nchw(): tf.Tensor {
    this.nchwTensor ??= this.nhwcTensor!.transpose(TO_NCHW);
    return this.nchwTensor;
  }

  /** The tensor channels-last; only for rank-4 values. */
  nhwc(): tf.Tensor4D {
    if (this.rank !== 4) throw new Error(`a rank-${this.rank} value has no channels-last form`);
    this.nhwcTensor ??= this.nchwTensor!.transpose(TO_NHWC) as tf.Tensor4D;
    return this.nhwcTensor;
  }

  /** Every tensor this value holds (for keeping them past a tidy). */
  tensors(): tf.Tensor[] {
    return [this.nchwTensor, this.nhwcTensor].filter((t): t is tf.Tensor => t !== undefined);
  }
}
