/**
 * Blocked `DequantizeLinear` with INT4/UINT4 needs the default-domain opset 21 (and IR
 * version 10). Raising a model's opset from 13..20 to 21 is safe once the few ops whose
 * meaning changed in between are rewritten to their opset-21 spelling; those are handled
 * here, and a model that would need more (opset < 13, GroupNormalization-18) is refused
 * with the reason and the alternative.
 */
import { InputError } from '../../errors.ts';
import type { Graph } from '../../ir/graph.ts';
import type { Model } from '../../ir/model.ts';
import type { Node } from '../../ir/node.ts';
import { Tensor } from '../../ir/tensor.ts';
import type { FreshNames } from '../../ir/names.ts';
import { opSpec } from '../../ops/registry.ts';

export const INT4_DQ_OPSET = 21;
const MIN_UPGRADABLE = 13;

const GRID_SAMPLE_MODES: Record<string, string> = { bilinear: 'linear', bicubic: 'cubic' };

function isDefault(node: Node): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

/** What an upgrade to opset 21 would do, or why it cannot (throws InputError). */
export function upgradeToOpset21(model: Model, names: FreshNames): string[] {
  const from = model.opset('');
  if (from >= INT4_DQ_OPSET) {
    if (Number(model.irVersion) < 10) model.irVersion = 10;
    return [];
  }
  if (from < MIN_UPGRADABLE) {
    throw new InputError(`format dq needs opset ${INT4_DQ_OPSET}; this model imports opset ${from} (below ${MIN_UPGRADABLE}, too old to raise safely): convert it first, or use format matmulnbits`);
  }
  const rewrites = new Map<string, number>();
  const count = (what: string) => rewrites.set(what, (rewrites.get(what) ?? 0) + 1);
  for (const graph of model.graph.walk()) {
    for (const node of graph.nodes) {
      if (!isDefault(node)) continue;
      if (node.opType === 'GroupNormalization' && from < 21) {
        throw new InputError(`format dq needs opset ${INT4_DQ_OPSET}, and GroupNormalization ${node.label} changed meaning in opset 21 (scale and bias per channel, not per group): use format matmulnbits`);
      }
      // Ops whose `axes` became an input after the model's opset (the reductions in 18).
      const axesInputSince = opSpec(node)?.axesInputSince;
      if (axesInputSince !== undefined && from < axesInputSince) {
        const axes = node.getInts('axes');
        if (axes) {
          node.removeAttr('axes');
          node.inputs = [node.inputs[0]!, addAxes(graph, names, node, axes)];
          count(`${node.opType} axes → input`);
        }
      }
      if (node.opType === 'Split' && from < 18 && !node.inputs[1] && node.getInt('num_outputs') === undefined) {
        node.setAttr('num_outputs', node.outputs.length);
        count('Split num_outputs');
      }
      if (node.opType === 'GridSample' && from < 20) {
        const mode = node.getString('mode');
        if (GRID_SAMPLE_MODES[mode]) {
          node.setAttr('mode', GRID_SAMPLE_MODES[mode]!);
          count('GridSample mode renamed');
        }
      }
      if (node.opType === 'DFT' && from < 20) {
        const axis = node.getInt('axis', 1);
        node.removeAttr('axis');
        const name = names.fresh(`${node.name || node.outputs[0]}_axis`);
        graph.addInitializer(Tensor.fromTyped(name, BigInt64Array.of(BigInt(axis)), []));
        node.inputs = [node.inputs[0]!, node.inputs[1] ?? '', name];
        count('DFT axis → input');
      }
      if (node.opType === 'RoiAlign' && from < 16 && node.attr('coordinate_transformation_mode') === undefined) {
        node.setAttr('coordinate_transformation_mode', 'output_half_pixel');
        count('RoiAlign mode made explicit');
      }
    }
  }
  model.opsets.set('', INT4_DQ_OPSET);
  if (Number(model.irVersion) < 10) model.irVersion = 10;
  const done = [...rewrites].map(([what, n]) => `${n}× ${what}`);
  return [`raised opset ${from} → ${INT4_DQ_OPSET} for blocked DequantizeLinear${done.length ? ` (${done.join(', ')})` : ''}`];
}

function addAxes(graph: Graph, names: FreshNames, node: Node, axes: number[]): string {
  const name = names.fresh(`${node.name || node.outputs[0]}_axes`);
  graph.addInitializer(Tensor.fromTyped(name, BigInt64Array.from(axes, BigInt), [axes.length]));
  return name;
}
