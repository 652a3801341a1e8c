/** The pruning API: what the `prune` pass, `shrinkray prune` and `shrinkray analyze` call. */
export { pruneModel, countParams, type PruneHooks } from './prune.ts';
export {
  PRUNE_DEFAULTS,
  parseLayerSparsity,
  parsePattern,
  type Criterion,
  type LayerReport,
  type NMPattern,
  type OnUnsupported,
  type PruneOptions,
  type PruneResult,
  type Storage,
  type StorageChoice,
} from './types.ts';
export {
  analyzeSensitivity,
  sensitivityMarkdown,
  SENSITIVITY_DEFAULTS,
  type LayerSensitivity,
  type SensitivityHooks,
  type SensitivityOptions,
  type SensitivityPoint,
  type SensitivityResult,
} from './sensitivity.ts';
export { sparsityAt, scheduleSteps, type SparsitySchedule } from './schedule.ts';
export { analyzeChannels } from './channel-graph.ts';
export type { ChannelGraph, Space } from './channel-types.ts';
export { prunableLayers, type PrunableLayer } from './layers.ts';
