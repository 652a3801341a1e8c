/**
 * Intermediate tensors on demand: a copy of the model with chosen values added as graph
 * outputs, for calibration, sensitivity analysis and debugging. The model itself is not
 * changed.
 *
 * onnxruntime fetches only graph outputs, and a value computed inside an If/Loop/Scan body is
 * not one. Such a value is carried out level by level (`hoistOutOfBodies`): inside the body
 * it is renamed and passed through an Identity to a new body output, and the node gets a new
 * output with the value's own name. A Loop or Scan turns it into a scan output (the values of
 * every iteration stacked on a new leading axis); an If's other branch outputs an empty tensor,
 * so a branch not taken contributes nothing. Statistics over the elements (ranges,
 * histograms) are what these captures are for; per-sample layouts do not survive a Loop.
 */
import type { Graph } from '../ir/graph.ts';
import type { Model } from '../ir/model.ts';
import { FreshNames } from '../ir/names.ts';
import { Node } from '../ir/node.ts';
import { Tensor } from '../ir/tensor.ts';
import type { DType } from '../onnx/dtype.ts';
import { ValueInfo } from '../ir/value.ts';
import { modelToBytes } from '../io/save.ts';
import { inferShapes } from '../ops/infer.ts';

/** Where each graph sits: the node holding it and the graph around that node. */
type Parents = Map<Graph, { node: Node; graph: Graph }>;

/** Ops whose body values can be carried out to the enclosing graph. */
const HOISTABLE = new Set(['If', 'Loop', 'Scan']);

function parentsOf(root: Graph): { parents: Parents; definedIn: Map<string, Graph> } {
  const parents: Parents = new Map();
  const definedIn = new Map<string, Graph>();
  for (const g of root.walk()) {
    for (const v of g.inputs) definedIn.set(v.name, g);
    for (const n of g.nodes) {
      for (const o of n.outputs) if (o) definedIn.set(o, g);
      for (const s of n.subgraphs()) parents.set(s, { node: n, graph: g });
    }
  }
  return { parents, definedIn };
}

/** Whether a value defined in graph `g` can be carried out to the main graph. */
function canHoist(g: Graph, parents: Parents): boolean {
  for (let p = parents.get(g); p; p = parents.get(p.graph)) {
    if (!HOISTABLE.has(p.node.opType) || (p.node.domain !== '' && p.node.domain !== 'ai.onnx')) return false;
  }
  return true;
}

/** Moves `name` (defined at the top level of `body`, held by `node`) out to `node`'s outputs. */
function hoistOnce(node: Node, body: Graph, name: string, dtype: DType, names: FreshNames): void {
  const local = names.fresh(`${name}_in_body`);
  for (const v of body.inputs) if (v.name === name) v.name = local;
  for (const n of body.nodes) n.outputs = n.outputs.map((o) => (o === name ? local : o));
  body.replaceUses(name, local);
  for (const v of body.outputs) if (v.name === name) v.name = local;
  const out = names.fresh(`${name}_out`);
  body.nodes.push(new Node('Identity', [local], [out]));
  body.outputs.push(new ValueInfo(out, { dtype, shape: undefined }));
  if (node.opType === 'If') {
    for (const other of node.subgraphs().filter((s) => s !== body)) {
      const empty = names.fresh(`${name}_not_taken`);
      const c = new Node('Constant', [], [empty]);
      c.setAttr('value', new Tensor(empty, dtype, [0], { kind: 'raw', chunk: new Uint8Array(0) }));
      other.nodes.push(c);
      other.outputs.push(new ValueInfo(empty, { dtype, shape: undefined }));
    }
  } else if (node.opType === 'Scan') {
    for (const attr of ['scan_output_axes', 'scan_output_directions']) {
      const v = node.getInts(attr);
      if (v) node.setAttr(attr, [...v, 0]);
    }
  }
  node.outputs.push(name);
}

/**
 * Makes each of `wanted` a value of the main graph (see the file comment), in place on a
 * model the caller owns. Returns the names that could not be (held by another op's body).
 */
export function hoistOutOfBodies(model: Model, wanted: ReadonlyArray<{ name: string; dtype: DType }>): string[] {
  const root = model.graph;
  const names = new FreshNames(root);
  const refused: string[] = [];
  // Hoisting adds nodes and outputs but moves no body, so the structure is read once.
  const { parents, definedIn } = parentsOf(root);
  for (const { name, dtype } of wanted) {
    let g = definedIn.get(name);
    if (!g || g === root) continue;
    if (!canHoist(g, parents)) {
      refused.push(name);
      continue;
    }
    for (let p = parents.get(g); p; g = p.graph, p = parents.get(g)) hoistOnce(p.node, g, name, dtype, names);
  }
  return refused;
}

/** The main graph and every body whose values `hoistOutOfBodies` can carry out. */
export function capturableGraphs(model: Model): Set<Graph> {
  const { parents } = parentsOf(model.graph);
  return new Set([...model.graph.walk()].filter((g) => canHoist(g, parents)));
}

/**
 * Serializes `model` with values exposed as extra outputs: a name alone takes its dtype from
 * shape inference, `{ name, dtype }` gives it (8-bit tensors of a quantized model). Values
 * inside If/Loop/Scan bodies are carried out first, on a copy.
 */
export function modelBytesWithOutputs(model: Model, outputs: ReadonlyArray<string | { name: string; dtype: DType }>): Uint8Array {
  return modelToBytes(modelWithOutputs(model, outputs));
}

/** A copy of `model` (tensors shared) with `outputs` added, as modelBytesWithOutputs encodes: a runtime given a Model opens a large one from a file. */
export function modelWithOutputs(model: Model, outputs: ReadonlyArray<string | { name: string; dtype: DType }>): Model {
  const wanted = outputs.map((o) => (typeof o === 'string' ? { name: o, dtype: undefined } : o));
  const types = wanted.some((o) => !o.dtype) ? inferShapes(model) : undefined;
  const typed = wanted.map((o) => ({ name: o.name, dtype: o.dtype ?? types?.get(o.name)?.dtype ?? 'float32' }));
  const inMain = new Set<string>([...model.graph.inputs.map((v) => v.name), ...model.graph.initializers.keys(), ...model.graph.nodes.flatMap((n) => n.outputs)]);
  const target = model.clone();
  const refused = hoistOutOfBodies(target, typed.filter((o) => !inMain.has(o.name)));
  if (refused.length) throw new Error(`cannot capture ${refused.join(', ')}: only values inside If/Loop/Scan bodies can be carried out`);
  const graph = target.graph;
  const existing = new Set(graph.outputs.map((o) => o.name));
  graph.outputs = [...graph.outputs, ...typed.filter((o) => !existing.has(o.name)).map((o) => new ValueInfo(o.name, { dtype: o.dtype, shape: undefined }))];
  return target;
}
