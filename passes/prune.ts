/**
 * prune: structured channel pruning that rewrites the graph smaller (`channels`), then
 * unstructured magnitude pruning (`sparsity`, layer-wise or `global`, with a schedule) or
 * N:M semi-structured pruning (`pattern`), then the storage choice (`storage`: sparse
 * initializers where smaller). With calibration data (`calib`), channel pruning folds the
 * removed channels' means into the next layers' biases. The result is checked in onnxruntime; the model's size,
 * gzip and brotli size are always reported. The work is done by `pruneModel` (src/prune).
 */
import { definePass } from '../src/pipeline/pass.ts';

const pct = (v: number) => `${(v * 100).toFixed(2)} %`;

export const prune = definePass({
  name: 'prune',
  kind: 'prune',
  description: 'Pruning: magnitude (layer-wise or global), N:M, or structured channels that shrink the graph; optional sparse storage.',
  options: {
    sparsity: { type: 'number', default: 0, min: 0, max: 0.999, description: 'Magnitude pruning: fraction of each layer’s weights set to zero (0: off).' },
    global: { type: 'boolean', default: false, description: 'Rank weight magnitudes across all layers at once instead of layer by layer.' },
    pattern: { type: 'string', default: '', description: 'N:M sparsity along input channels, e.g. 2:4 or 1:4 (empty: off; not with sparsity).' },
    channels: { type: 'number', default: 0, min: 0, max: 0.999, description: 'Structured: fraction of output channels/neurons removed from the graph (0: off).' },
    criterion: { type: 'enum', default: 'l1', values: ['l1', 'l2', 'bn'], description: 'Channel ranking: L1 or L2 norm of the weights, or |gamma| of the following BatchNormalization.' },
    skip: { type: 'list', default: [], description: "Layers left untouched: node names, 'first', 'last'." },
    layerSparsity: { type: 'list', default: [], description: 'Per-layer sparsity overrides: name=fraction,… (taken out of the global ranking).' },
    layerChannels: { type: 'list', default: [], description: 'Per-layer channel fractions: name=fraction,… (applies to the layers coupled with it).' },
    opTypes: { type: 'list', default: ['Conv', 'Gemm', 'MatMul'], description: 'Op types whose weights are pruned.' },
    unsupported: { type: 'enum', default: 'error', values: ['error', 'skip'], description: 'Channels that cannot be followed through a node: error (name it) or skip (leave them).' },
    storage: { type: 'enum', default: 'dense', values: ['dense', 'auto', 'gzip'], description: 'Weights as dense initializers, or sparse_initializer where smaller on disk (auto) or after gzip (gzip). Use as the last pass.' },
    schedule: { type: 'enum', default: 'constant', values: ['constant', 'polynomial'], description: 'Sparsity schedule for pruning during fine-tuning: constant, or polynomial from initialSparsity to sparsity.' },
    step: { type: 'number', default: 0, min: 0, description: 'Schedule: the current step.' },
    steps: { type: 'number', integer: true, default: 0, min: 0, description: 'Schedule (polynomial): the step at which sparsity is reached.' },
    initialSparsity: { type: 'number', default: 0, min: 0, max: 0.999, description: 'Schedule (polynomial): sparsity at step 0.' },
    calib: { type: 'string', default: '', description: 'Calibration data (.npz / .npy / folder): channels then compensate the next layers’ biases for the removed channels’ means.' },
    calibSamples: { type: 'number', integer: true, default: 512, min: 1, description: 'Calibration samples for compensation (the first N).' },
    compensate: { type: 'boolean', default: true, description: 'With calib: fold removed channels’ means into the next layers’ biases.' },
    verify: { type: 'boolean', default: true, description: 'Run the result in onnxruntime; for channels, compare it with the masked original.' },
  },
  async run(model, options, ctx) {
    // The engine loads when the pass runs, not when passes are listed (see cleanup.ts).
    const [{ openDataset }, { encodedSize, modelToBytes }, { pruneModel }, { sparsityAt }, { parseLayerSparsity, parsePattern }, { COMPRESSED_SIZE_LIMIT, measureSizes }] = await Promise.all([
      import('../src/data/dataset.ts'),
      import('../src/io/save.ts'),
      import('../src/prune/prune.ts'),
      import('../src/prune/schedule.ts'),
      import('../src/prune/types.ts'),
      import('../src/report/size.ts'),
    ]);
    const sparsity = options.schedule === 'polynomial' && options.sparsity > 0
      ? sparsityAt({ kind: 'polynomial', final: options.sparsity, initial: options.initialSparsity, end: options.steps }, options.step)
      : options.sparsity;
    const calibration = options.calib ? await openDataset(options.calib, { inputValues: ctx.inputValues }) : undefined;
    const result = await pruneModel(
      model,
      {
        sparsity,
        global: options.global,
        pattern: options.pattern ? parsePattern(options.pattern) : undefined,
        channels: options.channels,
        criterion: options.criterion,
        skip: options.skip,
        layerSparsity: parseLayerSparsity(options.layerSparsity),
        layerChannels: parseLayerSparsity(options.layerChannels),
        opTypes: options.opTypes,
        unsupported: options.unsupported,
        storage: options.storage,
        verify: options.verify,
        compensate: options.compensate,
        calibSamples: options.calibSamples,
      },
      { progress: (f, l) => ctx.progress(f, l), note: (m) => ctx.note(m), calibration, outputRunByCaller: ctx.outputRunByCaller, shapes: ctx.shapes, inputValues: ctx.inputValues },
    ).finally(() => calibration?.close());
    const pruned = result.layers.filter((l) => l.target !== undefined);
    if (result.requested !== undefined) {
      ctx.note(`sparsity ${pct(result.achieved)} of the targeted weights (asked ${pct(result.requested)}); ${pct(result.overallSparsity)} of all parameters`);
    }
    ctx.note(`layers: ${result.layers.map((l) => `${l.node} ${l.channelsBefore !== undefined ? `${l.channelsBefore}→${l.channelsAfter} ch, ` : ''}${pct(l.sparsity)}${l.skipped ? ' (skipped)' : ''}`).join('; ')}`);
    const sparse = result.storage.filter((s) => s.chosen === 'sparse');
    if (options.storage !== 'dense') ctx.note(`storage: ${sparse.length} of ${result.storage.length} tensors with zeros stored sparse`);
    // gzip/brotli sizes only where they are measured anyway (report/size.ts): encoding a large model whole costs seconds per GiB.
    const encoded = encodedSize(model);
    const sizes = encoded <= COMPRESSED_SIZE_LIMIT ? await measureSizes(modelToBytes(model)) : { sizeBytes: encoded };
    return {
      layersPruned: pruned.length,
      sparsityPercent: Number((result.achieved * 100).toFixed(2)),
      channelsRemoved: result.channelsRemoved,
      paramsBefore: result.paramsBefore,
      paramsAfter: result.paramsAfter,
      sparseTensors: sparse.length,
      bytes: sizes.sizeBytes,
      ...(sizes.gzipBytes !== undefined && { gzipBytes: sizes.gzipBytes, brotliBytes: sizes.brotliBytes! }),
    };
  },
});
