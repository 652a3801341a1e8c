/** Convs with too few input channels for onnxruntime's int8 convolution to pay off. */
import type { Node } from '../../ir/node.ts';
import type { GraphFacts, Selection } from './plan.ts';

/**
 * `sel` with the shallow convs of graph `f` handled: onnxruntime's int8 convolution is slower
 * than float below `min` input channels, so static mode keeps them float (with the reason) and
 * dynamic mode stores their weights int8 + DequantizeLinear instead of running ConvInteger.
 */
export function withShallowConvs(f: GraphFacts, sel: Selection, mode: 'static' | 'dynamic', min: number): Selection {
  const float = new Map(sel.float);
  const weightOnly = new Set(sel.weightOnly);
  for (const [n, cin] of shallowConvs(f, min)) {
    if (sel.force?.has(n) || float.has(n)) continue;
    if (mode === 'dynamic') weightOnly.add(n);
    else float.set(n, `${cin} input channel${cin === 1 ? '' : 's'}: onnxruntime's int8 convolution is slower than float there (minConvInputChannels ${min})`);
  }
  return { ...sel, float, weightOnly };
}

/** Convs (group 1, constant weight) with fewer than `min` input channels, and that count. */
export function shallowConvs(f: GraphFacts, min: number): Array<[Node, number]> {
  const found: Array<[Node, number]> = [];
  for (const n of f.graph.nodes) {
    if (n.opType !== 'Conv' || (n.domain !== '' && n.domain !== 'ai.onnx') || n.getInt('group', 1) !== 1) continue;
    const cin = f.consts.get(n.inputs[1] ?? '')?.dims[1];
    if (cin !== undefined && cin < min) found.push([n, cin]);
  }
  return found;
}
