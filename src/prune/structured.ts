/**
 * Structured channel pruning of every graph of a model — the main graph and each If/Loop/Scan
 * body, each analysed on its own — then the check against the masked original and, with
 * calibration data, bias compensation (main graph). Called by `pruneModel` on its working copy.
 */
import { CheckError, InputError } from '../errors.ts';
import type { Model } from '../ir/model.ts';
import { modelToBytes } from '../io/save.ts';
import { compareInChildProcess, type CompareOptions, type OutputDiff } from '../runtime/verify.ts';
import { eliminateDeadCode } from '../transforms/dead-code.ts';
import { analyzeEveryGraph } from './channel-graph.ts';
import type { ChannelGraph } from './channel-types.ts';
import { planChannels, type ChannelPlan } from './channel-plan.ts';
import { maskReference, rewriteChannels } from './channel-rewrite.ts';
import { compensateBiases, sinkWeights } from './compensate.ts';
import type { PruneHooks } from './prune.ts';
import type { LayerReport, PruneOptions } from './types.ts';

/** Relative tolerance of the masked-reference comparison (float sums in another order). */
export const MASK_TOLERANCE = 1e-4;
/**
 * The same where LayerNorm statistics were renormalised: the reference takes them as masked
 * sums, a rounding that the division by the deviation amplifies. Deep networks amplify
 * rounding anyway: ppocrv4-rec with only its conv backbone pruned (no LayerNorm touched)
 * already differed by 1.4e-4 on a softmax output.
 */
export const MASK_TOLERANCE_RENORMALIZED = 1e-3;

type Hooks = PruneHooks & { note(m: string): void; progress(f: number, label?: string): void };

export async function pruneChannels(model: Model, o: PruneOptions, skipped: ReadonlySet<string>, hooks: Hooks): Promise<{ removed: number; verifyMaxDiff?: number; layers: LayerReport[] }> {
  const { note, progress } = hooks;
  progress(0.1, 'channel dependencies');
  for (const g of model.graph.walk()) g.sortTopologically();
  const cgs = analyzeEveryGraph(model, o.unsupported);
  const plans = cgs.map((cg) => planChannels(cg, { fraction: o.channels, overrides: o.layerChannels, criterion: o.criterion, keep: keptLayers(cg, o, skipped) }));
  for (const [i, cg] of cgs.entries()) for (const n of [...cg.notes, ...plans[i]!.notes]) note(n);
  const renormalized = [...new Set(cgs.flatMap((cg, i) => cg.statistics.filter((s) => s.ids.some((id) => !plans[i]!.kept(id))).map((s) => s.norm)))];
  if (renormalized.length) {
    note(
      `channels: ${renormalized.length} LayerNorm(s) (${renormalized.slice(0, 2).join(', ')}${renormalized.length > 2 ? ', …' : ''}) now normalize over the kept features only: ` +
        'their mean and variance change, so the kept features change too (compare the outputs with the input model)',
    );
  }
  const removed = plans.reduce((n, p) => n + p.removed, 0);
  const [main, mainPlan] = [cgs[0]!, plans[0]!];
  const compensating = o.compensate && hooks.calibration !== undefined && mainPlan.removed > 0;
  const original = (o.verify || compensating) && removed > 0 ? model.clone() : undefined;
  const readers = compensating ? sinkWeights(main, mainPlan) : undefined;
  progress(0.3, 'rewriting channels');
  for (const [i, cg] of cgs.entries()) rewriteChannels(cg, plans[i]!);
  let verifyMaxDiff: number | undefined;
  if (original) {
    progress(0.4, 'comparing with the masked original');
    const reference = original;
    const graphs = [...reference.graph.walk()];
    for (const [i, cg] of cgs.entries()) maskReference(cg, plans[i]!, reference, graphs[i]);
    const tolerance = renormalized.length ? MASK_TOLERANCE_RENORMALIZED : MASK_TOLERANCE;
    if (o.verify) verifyMaxDiff = await compareMasked(reference, model, note, tolerance, { shapes: hooks.shapes, values: hooks.inputValues });
    if (readers) {
      progress(0.5, 'bias compensation');
      const source = { dataset: hooks.calibration!, limit: o.calibSamples, batchSize: 64 };
      const n = await compensateBiases(main, mainPlan, readers, reference, source);
      note(`channels: biases of ${n} layer(s) compensated for the removed channels' means (${Math.min(o.calibSamples, hooks.calibration!.length)} calibration samples)`);
    }
  }
  eliminateDeadCode(model.graph);
  return { removed, verifyMaxDiff, layers: cgs.flatMap((cg, i) => layerReports(cg, plans[i]!, o)) };
}

/** Layers whose output channels stay: skipped, or of an op type not asked for. */
function keptLayers(cg: ChannelGraph, o: PruneOptions, skipped: ReadonlySet<string>): Map<string, string> {
  const keep = new Map<string, string>();
  for (const s of cg.spaces) {
    if (skipped.has(s.layer.name)) keep.set(s.layer.name, `layer '${s.layer.name}' is skipped`);
    else if (!o.opTypes.includes(s.layer.node.opType)) keep.set(s.layer.name, `${s.layer.node.opType} is not in opTypes`);
  }
  return keep;
}

function layerReports(cg: ChannelGraph, plan: ChannelPlan, o: PruneOptions): LayerReport[] {
  return cg.spaces.map((s) => ({
    node: s.layer.name,
    op: s.layer.node.opType,
    weight: s.layer.node.inputs[1]!,
    params: 0,
    zeros: 0,
    sparsity: 0,
    channelsBefore: s.size,
    channelsAfter: plan.keptPerSpace[s.index],
    target: o.layerChannels[s.layer.name] ?? o.channels,
  }));
}

/** Max |difference| between the pruned model and the masked original on random inputs; throws past tolerance. */
async function compareMasked(reference: Model, pruned: Model, note: (m: string) => void, tolerance: number, feeds: CompareOptions): Promise<number | undefined> {
  let diffs: OutputDiff[];
  try {
    diffs = await compareInChildProcess(modelToBytes(reference), modelToBytes(pruned), feeds);
  } catch (err) {
    // Inputs random feeds cannot fill (unnamed dynamic dims, bool or string inputs), or that send the
    // input model itself down a path that fails (a sample rate picking a branch): loading is the check.
    if (err instanceof InputError && /symbolic dim|dynamic dim|random inputs exist for|is not a tensor|rejected the input model/.test(err.message)) {
      note(`channels: outputs not compared (${err.message})`);
      return undefined;
    }
    throw err;
  }
  let max = 0;
  for (const d of diffs) {
    max = Math.max(max, d.maxAbsDiff);
    if (!(d.maxAbsDiff <= tolerance * Math.max(1, d.maxAbs))) {
      throw new CheckError(`prune: the channel-pruned model's output '${d.output}' differs from the masked original by ${d.maxAbsDiff} (max |value| ${d.maxAbs})`);
    }
  }
  return max;
}
