/**
 * The int8 quantizer's options, declared once: this schema is the `QuantizeOptions` type (enum
 * values as unions), its defaults, its validation, the `quantize` pass's options and the
 * CLI's flags.
 */
import { defaultsOf, type OptionValues } from '../../pipeline/options.ts';

export const CALIBRATION_METHODS = ['minmax', 'percentile', 'entropy', 'mse'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

export const QUANTIZE_TARGETS = ['size', 'speed', 'balanced'] as const;

export const SENSITIVITY_METHODS = ['auto', 'added', 'alone'] as const;
export type SensitivityMethod = (typeof SENSITIVITY_METHODS)[number];

export const QUANTIZE_OPTIONS = {
  mode: {
    type: 'enum',
    default: 'static',
    values: ['static', 'dynamic'],
    description: 'static: weights and activations (needs calib); dynamic: int8 weights (MatMul/Gemm/Conv/LSTM as integer ops, ConvTranspose/GRU/RNN weight-only), activations at run time; minSqnr moves sensitive layers to weight-only int8, then float.',
  },
  format: { type: 'enum', default: 'qdq', values: ['qdq', 'qoperator'], description: 'Static output format: QDQ pairs any runtime understands, or integer operators (QLinearConv, QGemm …).' },
  activationType: { type: 'enum', default: 'uint8', values: ['uint8', 'int8'], description: 'Activation type, per tensor asymmetric (uint8: the fast u8×s8 path on x86).' },
  perChannel: { type: 'boolean', default: true, description: 'One weight scale per output channel (false: per tensor).' },
  calibSamples: { type: 'number', default: 512, min: 1, description: 'Calibration samples (the first N).' },
  calibBatch: { type: 'number', default: 64, min: 1, description: 'Samples per calibration run.' },
  calibration: { type: 'enum', default: 'percentile', values: CALIBRATION_METHODS, description: 'Range estimation: minmax, percentile, entropy (KL) or mse.' },
  percentile: { type: 'number', default: 99.99, above: 50, max: 100, description: 'Two-sided percentile for calibration=percentile, in (50, 100].' },
  bins: { type: 'number', default: 2048, min: 16, description: 'Histogram bins per calibrated tensor (8 bytes each).' },
  opTypes: { type: 'list', default: [], description: 'Op types to quantize (default: Conv, MatMul, Gemm, Add, Mul, pools, Relu/Clip, Concat and value-preserving ops).' },
  excludeNodes: { type: 'list', default: [], description: 'Node names kept in float.' },
  keepIoFloat: { type: 'boolean', default: false, description: 'Keep the first and last Conv/MatMul/Gemm layers in float.' },
  minConvInputChannels: {
    type: 'number',
    default: 4,
    min: 0,
    // An image stem falls off onnxruntime's fast int8 path: lenet5 conv1 878 µs int8 vs 208 µs fp32 at batch 32.
    description: 'Convs (group 1) with fewer input channels stay float: onnxruntime runs them slower in int8 (0: quantize all).',
  },
  minSqnr: {
    type: 'number',
    default: 20,
    min: 0,
    description:
      'Without an accuracy budget: layers step down, most sensitive first, until every output’s SQNR against float reaches this floor in dB (0: off). Static: to float, judged on calibration samples. Dynamic: integer op → weight-only int8 → float, judged on calibration samples, else on the data the quality gate judges.',
  },
  sensitivitySamples: { type: 'number', default: 128, min: 1, description: 'Samples used to rank layer sensitivity and steer fallback (of the calibration data, or of the data the quality gate judges).' },
  sensitivity: {
    type: 'enum',
    default: 'auto',
    values: SENSITIVITY_METHODS,
    description:
      'How fallback ranks layers: added = one run of the float and the all-int8 model, each layer by the error it adds; alone = one run per layer with only it quantized; auto = alone while that is expected to take at most 30 s (always with layers inside If/Loop/Scan bodies), else added.',
  },
  constantsInt8: {
    type: 'enum',
    default: 'auto',
    values: ['auto', 'on', 'off'],
    // Each stored constant is a DequantizeLinear onnxruntime runs on every call (it does not fold
    // them): tinyvit's 24 cost 8 % at batch 1 and 3 % at batch 32, and save 9.6 KB (0.33× → 0.30× of fp32).
    description: 'Store leftover float constants (LayerNorm parameters, post-op biases; ≥ 64 values) as int8 + DequantizeLinear: auto = with target size only (each costs a kernel per run), on, off.',
  },
  debugLayers: { type: 'boolean', default: false, description: 'Report per-layer SQNR and max error against float.' },
  debugSamples: { type: 'number', default: 128, min: 1, description: 'Samples used by debugLayers.' },
  runtimeCheck: { type: 'enum', default: 'auto', values: ['auto', 'full', 'structure'], description: 'onnxruntime check: full (load and run), structure (large weights as inputs), auto (full up to 128 MiB).' },
  prepare: {
    type: 'boolean',
    default: true,
    description: "Prepare the graph first as onnxruntime's quantization pre-processing does: fold BatchNormalization, fuse MatMul + Add into Gemm (false: quantize it as given).",
  },
  target: {
    type: 'enum',
    default: 'balanced',
    values: QUANTIZE_TARGETS,
    // dscnn quantized as given ran 0.52× fp32 at batch 32; lenet5 with BN folded still 0.53× (a uint8 MaxPool after QDQ propagation).
    description:
      'Static int8 placement, timed in onnxruntime (placementBatches, 1 thread): size = every planned layer int8; balanced = a layer float where that is ≥ 3 % faster at some batch size and clearly slower at none, and no int8 if still > 3 % slower than fp32 at any; speed = any gain, and no int8 unless faster at every batch size.',
  },
  placementBatches: {
    type: 'list',
    default: ['32'],
    // Weighing 1 and 32 gave dscnn and tinyvit the float model: int8 ran 0.87–0.89× fp32 at batch 1
    // and no layer in float recovered it (single-layer trials 0.85–1.04× at batch 1), losing 1.2–1.3× at batch 32.
    description: 'Batch sizes placement times and weighs alike: state the one you deploy at (1 for latency-bound use; 1,32 for int8 never slower at either, which can leave the float model).',
  },
  placementSeconds: {
    type: 'number',
    default: 60,
    min: 0,
    // ppocrv4-det: 150 layers at 20–40 s a trial at batch 32; the fixtures' placements take 1–10 s.
    description: 'Time budget of placement (both rounds, before and after fallback): layers not tried when it runs out stay int8, named in a note (the fixtures need 1–10 s).',
  },
  floatLayers: {
    type: 'list',
    default: [],
    description: "Replays a placement decision without timing: these planned layers stay float, the rest int8 (the report's 'placement decision' note gives it; naming every planned layer gives the float model).",
  },
} as const;

export type QuantizeSchemaOptions = OptionValues<typeof QUANTIZE_OPTIONS>;

export const QUANTIZE_SCHEMA_DEFAULTS: Readonly<QuantizeSchemaOptions> = defaultsOf(QUANTIZE_OPTIONS);

/** Whether leftover float constants are stored int8 (constantsInt8 auto: only when size is the target). */
export function storesConstantsInt8(o: Pick<QuantizeSchemaOptions, 'constantsInt8' | 'target'>): boolean {
  return o.constantsInt8 === 'on' || (o.constantsInt8 === 'auto' && o.target === 'size');
}
