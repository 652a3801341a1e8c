/**
 * opset: converts the default ONNX domain from an older opset up to `target`, with a version
 * adapter per op change (attributes that became inputs, Softmax's single axis, Upsample →
 * Resize …), in every graph and subgraph. An op change it has no adapter for is refused,
 * naming the op and the node; a model already at or above `target` is left as it is.
 */
import { definePass } from '../src/pipeline/pass.ts';

/**
 * 17: the opset this project's own models, tests and trainable exporter are written at, so
 * every op-table consumer is exercised there; 18 moves every reduction's axes into an input
 * and 21 is what int4 `dq` needs (quantize-int4 raises to it itself).
 */
const DEFAULT_TARGET = 17;

export const opset = definePass({
  name: 'opset',
  kind: 'cleanup',
  description: 'Convert the default ONNX domain up to a newer opset (version adapters per op, subgraphs included).',
  options: {
    target: { type: 'number', integer: true, default: DEFAULT_TARGET, min: 8, max: 21, description: 'Opset to convert to (8–21); a model already at or above it is left unchanged.' },
  },
  async run(model, options, ctx) {
    const { upgradeOpset, describeUpgrade } = await import('../src/transforms/upgrade-opset.ts');
    const upgrade = upgradeOpset(model, options.target);
    ctx.note(describeUpgrade(upgrade));
    return { opsetRaised: upgrade.to - upgrade.from, nodesAdapted: Object.values(upgrade.rewrites).reduce((a, b) => a + b, 0) };
  },
});
