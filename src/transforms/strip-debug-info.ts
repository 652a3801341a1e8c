/**
 * Nodes' doc strings and metadata are debug information: exporters put stack traces and
 * module scopes there (PyTorch 2.x: `pkg.torch.onnx.stack_trace`, a fifth of some files), and
 * onnxruntime never reads them. The model's own metadata (licence, labels, versions) is not
 * touched.
 */
import type { Graph } from '../ir/graph.ts';

/** Drops every node's doc_string and metadata_props, bodies included; returns how many nodes had some. */
export function stripDebugInfo(root: Graph): number {
  let stripped = 0;
  for (const g of root.walk()) {
    for (const n of g.nodes) {
      if (n.proto.doc_string === undefined && n.proto.metadata_props === undefined) continue;
      delete n.proto.doc_string;
      delete n.proto.metadata_props;
      stripped++;
    }
  }
  return stripped;
}
