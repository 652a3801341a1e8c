/**
 * What the executor cannot run, found before anything runs: every unsupported node at once,
 * grouped by op type and reason, in one InputError.
 */
import { InputError } from '../../errors.ts';
import type { Model } from '../../ir/model.ts';
import { trainableSpec } from '../../ops/trainable.ts';
import { kernelFor } from './kernels.ts';

export function unsupportedNodes(model: Model): Map<string, string[]> {
  const problems = new Map<string, string[]>();
  const add = (reason: string, label: string) => problems.set(reason, [...(problems.get(reason) ?? []), label]);
  const opset = model.opset('');
  for (const node of model.graph.nodes) {
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    const kernel = kernelFor(node.opType);
    if (domain !== '' || !trainableSpec(node.opType) || !kernel) {
      add(`${domain ? `${domain}::` : ''}${node.opType} (no trainable kernel)`, node.name || node.outputs[0] || '?');
      continue;
    }
    if (node.subgraphs().length > 0) {
      add(`${node.opType} (subgraphs are not supported)`, node.name || node.outputs[0] || '?');
      continue;
    }
    const reason = kernel.check?.(node, opset);
    if (reason) add(reason, node.name || node.outputs[0] || '?');
  }
  return problems;
}

/** Throws InputError listing every node the executor cannot train, with its reason. */
export function assertTrainable(model: Model, label: string): void {
  const problems = unsupportedNodes(model);
  if (problems.size === 0) return;
  const list = [...problems].map(([reason, nodes]) => `${reason}: ${nodes.slice(0, 8).join(', ')}${nodes.length > 8 ? ` and ${nodes.length - 8} more` : ''}`);
  throw new InputError(`${label}: the tfjs executor cannot train ${[...problems.values()].flat().length} node(s) — ${list.join('; ')}`);
}
