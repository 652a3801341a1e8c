/**
 * distill: knowledge distillation on the ONNX graph. The model (the student) trains in the
 * tfjs executor against a teacher run in onnxruntime — by default the model as it was before
 * the pipeline (ctx.inputModel), so `compress --passes prune,distill` recovers a pruned
 * model from its own original. Labels are optional (alpha = 1 needs none). Pruned zeros stay
 * zero; quantAware trains an int8 QDQ student through its Q/DQ pairs. The work is done by
 * `distill` (src/distill).
 */
import type { Samples } from '../src/distill/data.ts';
import type { HintPair } from '../src/distill/distill.ts';
import type { OptimizerName } from '../src/distill/optimizer.ts';
import type { LrSchedule } from '../src/distill/schedule.ts';
import { InputError } from '../src/errors.ts';
import { definePass } from '../src/pipeline/pass.ts';

/** Loaded on first use: TensorFlow.js and its wasm backend cost every other command nothing. */
const training = async () => {
  const [data, core, hints, teacher, load] = await Promise.all([
    import('../src/distill/data.ts'),
    import('../src/distill/distill.ts'),
    import('../src/distill/hints.ts'),
    import('../src/distill/teacher.ts'),
    import('../src/io/load.ts'),
  ]);
  return { ...data, ...core, ...hints, ...teacher, ...load };
};

export const distill = definePass({
  name: 'distill',
  kind: 'distill',
  description: 'Knowledge distillation: train the model (student) on a teacher’s outputs, with or without labels; masks and int8 Q/DQ kept.',
  options: {
    teacher: { type: 'string', default: '', description: 'Teacher .onnx (default: the model as it was before the pipeline).' },
    train: { type: 'string', default: '', description: 'Training data (.npz / .npy / folder); labels (y) optional.' },
    samples: { type: 'number', integer: true, default: 0, min: 0, description: 'Training samples used (the first N; 0: all).' },
    val: { type: 'string', default: '', description: 'Validation data: keeps the best epoch’s weights (accuracy with labels, else agreement with the teacher).' },
    valSplit: { type: 'number', default: 0, min: 0, max: 0.9, description: 'Hold out this fraction of the training data for validation instead (the last samples).' },
    patience: { type: 'number', integer: true, default: 0, min: 0, description: 'Early stopping: epochs without a better validation score (0: off).' },
    epochs: { type: 'number', integer: true, default: 5, min: 1, description: 'Passes over the training data.' },
    batchSize: { type: 'number', integer: true, default: 16, min: 1, description: 'Samples per step (16: more steps per epoch; measured better than 32 and 64 within 5 epochs on both pruned CNN fixtures).' },
    optimizer: { type: 'enum', default: 'adam', values: ['adam', 'sgd'], description: 'adam (AdamW with weightDecay) or sgd with momentum.' },
    lr: { type: 'number', default: 0.02, min: 0, description: 'Peak learning rate.' },
    schedule: { type: 'enum', default: 'cosine', values: ['cosine', 'step', 'constant'], description: 'Learning-rate schedule: cosine to 0, step decay, or constant.' },
    warmup: { type: 'number', default: 0, min: 0, description: 'Linear learning-rate warm-up over this many epochs (fractions allowed), then the schedule.' },
    stepEpochs: { type: 'number', integer: true, default: 2, min: 1, description: 'step schedule: epochs between decays.' },
    gamma: { type: 'number', default: 0.1, min: 0, max: 1, description: 'step schedule: decay factor.' },
    momentum: { type: 'number', default: 0.9, min: 0, max: 0.999, description: 'sgd momentum.' },
    weightDecay: { type: 'number', default: 0, min: 0, description: 'Decoupled weight decay per unit learning rate (matrices and filters only).' },
    temperature: { type: 'number', default: 2, min: 0.01, description: 'Softmax temperature of the soft targets.' },
    alpha: { type: 'number', default: 0.5, min: 0, max: 1, description: 'Weight of the soft (teacher) loss; 1 − alpha on the labels. 1 (or no labels): labels unused.' },
    shift: { type: 'number', default: -1, min: -1, description: 'Augmentation: random shifts of [C,H,W] samples up to this many pixels (the teacher sees the same shifted batch); -1: 1 for [C,H,W] samples, else 0.' },
    hints: { type: 'list', default: [], description: "Hint losses: 'auto' (every Conv/Gemm of both graphs by name, channels matched), or student=teacher value pairs." },
    hintWeight: { type: 'number', default: 0.1, min: 0, description: 'Weight of each hint loss (mean squared error).' },
    recalibrateBn: { type: 'boolean', default: true, description: 'After training, re-estimate BatchNormalization running statistics over the (unshifted) training data (the moving average reflects only the last ~10 batches).' },
    quantAware: { type: 'boolean', default: false, description: 'Train an int8 QDQ student through its Q/DQ pairs (straight-through rounding; weights stay int8).' },
    seed: { type: 'number', default: 0, description: 'Seed for shuffling and shifts: same seed and inputs, same bytes.' },
  },
  async run(model, o, ctx) {
    if (!o.train) throw new InputError('distill needs training data: train=<.npz> (labels optional)');
    const { autoHints, parseHints, loadSamples, holdOut, Teacher, distill: distillModel, loadModel } = await training();
    // In a pipeline the model as it came in is the default teacher: parsed once, encoded once for onnxruntime.
    const teacherModel = o.teacher ? await loadModel(o.teacher) : ctx.inputModel;
    if (!teacherModel) throw new InputError('distill needs a teacher: teacher=<.onnx> (in a pipeline, the input model is the default)');
    if (o.val && o.valSplit > 0) throw new InputError('distill: give val or valSplit, not both');
    let train: Samples = await loadSamples(o.train, o.samples, ctx.inputValues);
    const hints: HintPair[] = o.hints.length === 1 && o.hints[0] === 'auto' ? await autoHints(model, teacherModel, train) : parseHints(o.hints);
    if (hints.length > 0) ctx.note(`hints: ${hints.map((h) => `${h.student}${h.channels ? ` (${h.channels.length} ch)` : ''}`).join(', ')}`);
    let val: Samples | undefined = o.val ? await loadSamples(o.val, 0, ctx.inputValues) : undefined;
    if (o.valSplit > 0) ({ train, val } = holdOut(train, o.valSplit));
    const teacher = await Teacher.open(teacherModel, hints.map((h) => h.teacher), o.teacher || 'the input model');
    try {
      const r = await distillModel(
        model,
        teacher,
        train,
        val,
        {
          epochs: o.epochs,
          batchSize: o.batchSize,
          optimizer: o.optimizer as OptimizerName,
          learningRate: o.lr,
          momentum: o.momentum,
          weightDecay: o.weightDecay,
          schedule: o.schedule as LrSchedule,
          stepEpochs: o.stepEpochs,
          gamma: o.gamma,
          warmupEpochs: o.warmup,
          temperature: o.temperature,
          alpha: o.alpha,
          seed: o.seed,
          maxShift: o.shift >= 0 ? o.shift : train.sampleShape.length === 3 ? 1 : 0,
          patience: o.patience,
          hints,
          hintWeight: o.hintWeight,
          quantAware: o.quantAware,
          recalibrateBn: o.recalibrateBn,
        },
        { progress: (f, l) => ctx.progress(f, l), note: (m) => ctx.note(m) },
      );
      const last = r.epochs.at(-1)!;
      ctx.note(`distilled ${r.epochs.length} epoch(s) at ${r.samplesPerSecond.toFixed(0)} samples/s; kept epoch ${r.keptEpoch}${r.usedLabels ? '' : ' (soft targets only)'}${r.maskedWeights ? `; ${r.maskedWeights} zero weights kept zero` : ''}`);
      const kept = r.epochs[r.keptEpoch - 1] ?? last;
      return {
        epochs: r.epochs.length,
        keptEpoch: r.keptEpoch,
        finalLoss: Number(last.loss.toFixed(4)),
        samplesPerSecond: Math.round(r.samplesPerSecond),
        trainedParameters: r.trainedParameters,
        maskedWeights: r.maskedWeights,
        ...(kept.val !== undefined && { valPercent: Number((kept.val * 100).toFixed(2)) }),
      };
    } finally {
      await teacher.close();
    }
  },
});
