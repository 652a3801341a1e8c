/**
 * Pruning options and results: what `pruneModel` takes and returns, and what the `prune`
 * pass and the CLI fill in from their flags. Every field states its default.
 */
import { InputError } from '../errors.ts';

export type Criterion = 'l1' | 'l2' | 'bn';
export type Storage = 'dense' | 'auto' | 'gzip';
export type OnUnsupported = 'error' | 'skip';

/** An N:M pattern: at most `n` non-zeros in every `m` consecutive input channels. */
export interface NMPattern {
  n: number;
  m: number;
}

export interface PruneOptions {
  /**
   * Unstructured magnitude pruning: the fraction of each targeted weight tensor set to zero
   * (with `global`, of all targeted weights together). 0 = off. Default 0.
   */
  sparsity: number;
  /** Rank magnitudes across all targeted layers at once instead of layer by layer. Default false. */
  global: boolean;
  /** N:M semi-structured pattern along the input-channel axis ('2:4', '1:4' …). Default none. */
  pattern?: NMPattern;
  /**
   * Structured pruning: the fraction of output channels / neurons removed from the graph in
   * each group of coupled layers. 0 = off. Default 0.
   */
  channels: number;
  /** How channels are ranked: L1 or L2 norm of their weights, or |gamma| of the BatchNormalization after them. Default 'l1'. */
  criterion: Criterion;
  /** Layers left untouched: node names, or 'first' / 'last' (the first / last prunable layer). Default []. */
  skip: string[];
  /** Per-layer sparsity by node name, overriding `sparsity` (with `global`, taken out of the global ranking). Default {}. */
  layerSparsity: Record<string, number>;
  /** Per-layer channel fraction by node name, overriding `channels` for the layer's coupled group. Default {}. */
  layerChannels: Record<string, number>;
  /** Op types whose weights are pruned. Default Conv, Gemm, MatMul. */
  opTypes: string[];
  /**
   * When channels cannot be followed through a node (a Reshape that splits the channel
   * axis, a computed shape that cannot be resolved …): 'error' refuses with the node's name, 'skip'
   * leaves the channels involved unpruned. Default 'error'.
   */
  unsupported: OnUnsupported;
  /**
   * How pruned weights are stored: 'dense' initializers, 'auto' (sparse_initializer for
   * each tensor whose sparse encoding is smaller on disk) or 'gzip' (whichever is smaller
   * after gzip). Sparse storage should be the last step: later passes see only dense
   * initializers. Default 'dense'.
   */
  storage: Storage;
  /** Load and run the result in onnxruntime; for channels, compare it with the masked original. Default true. */
  verify: boolean;
  /**
   * Channels: fold each removed channel's mean (measured on the calibration data given to
   * `pruneModel`) into the bias of the layers that read it. Without data, nothing. Default true.
   */
  compensate: boolean;
  /** Calibration samples used for compensation (the first N). Default 512. */
  calibSamples: number;
}

export const PRUNE_DEFAULTS: PruneOptions = {
  sparsity: 0,
  global: false,
  channels: 0,
  criterion: 'l1',
  skip: [],
  layerSparsity: {},
  layerChannels: {},
  opTypes: ['Conv', 'Gemm', 'MatMul'],
  unsupported: 'error',
  storage: 'dense',
  verify: true,
  compensate: true,
  calibSamples: 512,
};

/** One pruned (or skipped) layer. */
export interface LayerReport {
  node: string;
  op: string;
  weight: string;
  /** Weight elements after pruning. */
  params: number;
  zeros: number;
  sparsity: number;
  /** Output channels before → after (structured). */
  channelsBefore?: number;
  channelsAfter?: number;
  /** The fraction asked for this layer (unstructured or channels); undefined when skipped. */
  target?: number;
  skipped?: string;
}

export interface StorageChoice {
  tensor: string;
  denseBytes: number;
  sparseBytes: number;
  denseGzip?: number;
  sparseGzip?: number;
  chosen: 'dense' | 'sparse';
}

export interface PruneResult {
  layers: LayerReport[];
  /** Sparsity asked for (unstructured or N:M), or undefined. */
  requested?: number;
  /** Zeros / elements over the targeted weights. */
  achieved: number;
  /** Zeros / elements over every numeric initializer. */
  overallSparsity: number;
  paramsBefore: number;
  paramsAfter: number;
  channelsRemoved: number;
  /** Per-tensor storage decisions (storage ≠ 'dense'). */
  storage: StorageChoice[];
  /** Largest |difference| to the reference in the runtime check (masked original for channels). */
  verifyMaxDiff?: number;
  notes: string[];
}

/** '2:4' → { n: 2, m: 4 }. */
export function parsePattern(text: string): NMPattern {
  const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  const of = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(of >= 2) || n >= of) throw new InputError(`prune: pattern '${text}' is not N:M with 1 ≤ N < M (e.g. 2:4, 1:4)`);
  return { n, m: of };
}

/** 'conv1=0.3,fc3=0.5' (or a list of 'name=value') → { conv1: 0.3, fc3: 0.5 }. */
export function parseLayerSparsity(items: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items.flatMap((s) => s.split(','))) {
    if (!item.trim()) continue;
    const at = item.lastIndexOf('=');
    const value = Number(item.slice(at + 1));
    if (at <= 0 || !Number.isFinite(value) || value < 0 || value >= 1) {
      throw new InputError(`prune: layer override '${item}' is not <node name>=<fraction in [0, 1)>`);
    }
    out[item.slice(0, at).trim()] = value;
  }
  return out;
}

export function checkOptions(o: PruneOptions): void {
  const frac = (v: number, what: string) => {
    if (!(v >= 0 && v < 1)) throw new InputError(`prune: ${what} must be in [0, 1), got ${v}`);
  };
  frac(o.sparsity, 'sparsity');
  frac(o.channels, 'channels');
  for (const [k, v] of Object.entries({ ...o.layerSparsity, ...o.layerChannels })) frac(v, `the override for '${k}'`);
  if (o.pattern && o.sparsity > 0) throw new InputError('prune: give either sparsity (magnitude) or pattern (N:M), not both');
  const overrides = Object.keys(o.layerSparsity).length + Object.keys(o.layerChannels).length;
  if (!(o.sparsity > 0) && !o.pattern && !(o.channels > 0) && overrides === 0) {
    throw new InputError('prune: nothing to do; give sparsity, pattern or channels');
  }
  if (!['l1', 'l2', 'bn'].includes(o.criterion)) throw new InputError(`prune: criterion must be l1, l2 or bn, got '${o.criterion}'`);
  if (!['dense', 'auto', 'gzip'].includes(o.storage)) throw new InputError(`prune: storage must be dense, auto or gzip, got '${o.storage}'`);
  if (!['error', 'skip'].includes(o.unsupported)) throw new InputError(`prune: unsupported must be error or skip, got '${o.unsupported}'`);
}
