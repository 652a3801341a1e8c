/**
 * Distillation losses (Hinton et al. 2015): soft = T² · KL(softmax(t/T) ‖ softmax(s/T)) — the
 * T² keeps its gradient on the scale of the hard loss — and hard = cross-entropy with the
 * labels; loss = α·soft + (1−α)·hard. Hint losses add the mean squared distance between
 * matched feature maps.
 */
import * as tf from '@tensorflow/tfjs';

export function softLoss(student: tf.Tensor, teacher: tf.Tensor, temperature: number): tf.Scalar {
  const logP = tf.logSoftmax(teacher.div(temperature));
  const logQ = tf.logSoftmax(student.div(temperature));
  const rows = student.shape[0]!;
  return logP.exp().mul(logP.sub(logQ)).sum().div(rows).mul(temperature * temperature) as tf.Scalar;
}

export function hardLoss(student: tf.Tensor, labels: tf.Tensor1D, classes: number): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), student) as tf.Scalar;
}

export function distillLoss(student: tf.Tensor, teacher: tf.Tensor, labels: tf.Tensor1D | undefined, temperature: number, alpha: number): tf.Scalar {
  const soft = alpha > 0 ? softLoss(student, teacher, temperature).mul(alpha) : tf.scalar(0);
  if (!labels || alpha >= 1) return soft as tf.Scalar;
  return soft.add(hardLoss(student, labels, student.shape[1]!).mul(1 - alpha)) as tf.Scalar;
}

/** Mean squared distance between a student feature map and the teacher's, both [n, c, ...]. */
export function hintLoss(student: tf.Tensor, teacher: tf.Tensor): tf.Scalar {
  return tf.losses.meanSquaredError(teacher, student) as tf.Scalar;
}
