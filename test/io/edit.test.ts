import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnx from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes, saveModel } from '../../src/io/save.ts';
import { float } from '../../src/ir/builder.ts';
import { Node } from '../../src/ir/node.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { handModel, unknownFields, type Level } from '../helpers/proto.ts';

const P = onnx.onnx;
const FIXTURES = join(import.meta.dirname, 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'shrinkray-io-edit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The model as an independent decoder (onnx-proto) sees it, as a plain object. */
function decoded(bytes: Uint8Array): ReturnType<typeof P.ModelProto.toObject> {
  return P.ModelProto.toObject(P.ModelProto.decode(bytes), { longs: String, bytes: String, enums: Number, defaults: false });
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) >= 0;
}

const LEVELS: Level[] = ['model', 'graph', 'node', 'tensor', 'attribute', 'valueInfo', 'opset', 'entry'];

describe('io: semantic edits', () => {
  it('io: changing one node changes only that node; onnx-proto sees everything else identical and unknown fields stay', async () => {
    const extras = Object.fromEntries(LEVELS.map((l, i) => [l, unknownFields(i + 1)]));
    const bytes = handModel(extras);
    const src = join(dir, 'edit-in.onnx');
    const dst = join(dir, 'edit-out.onnx');
    writeFileSync(src, bytes);
    const m = await loadModel(src);
    const leaky = m.graph.nodes.find((n) => n.name === 'leaky')!;
    leaky.setAttr('alpha', float(0.25));
    leaky.inputs = ['x2'];
    m.graph.inputs[0]!.name = 'x2';
    await saveModel(m, dst);
    const out = new Uint8Array(readFileSync(dst));

    const before = decoded(bytes);
    const after = decoded(out);
    expect(after.graph.node[0].attribute[0].f).toBe(0.25);
    expect(after.graph.node[0].input).toEqual(['x2']);
    expect(after.graph.input[0].name).toBe('x2');
    // Undo the edits on the decoded original: the rest must match exactly.
    before.graph.node[0].attribute[0].f = 0.25;
    before.graph.node[0].input = ['x2'];
    before.graph.input[0].name = 'x2';
    expect(after).toEqual(before);
    // Every unknown field is still in the bytes, including inside the edited node and attribute.
    for (const l of LEVELS) expect(contains(out, extras[l]!), `unknown fields inside ${l}`).toBe(true);
    // Only the edited node's bytes differ: the untouched nodes/tensors are identical byte runs.
    const addNode = P.NodeProto.encode(P.ModelProto.decode(bytes).graph!.node![1]!).finish();
    expect(contains(out, addNode)).toBe(true);
  });

  it('io: an edited onnx-python model (rewired node, new initializer) decodes in onnx-proto with the rest unchanged', async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'python-model.onnx')));
    const m = await loadModel(bytes);
    const clip = m.graph.nodes.find((n) => n.name === 'clip')!;
    m.graph.addInitializer(Tensor.fromTyped('clip_min', Float32Array.of(-1), []));
    clip.inputs = ['y', 'clip_min'];
    const out = modelToBytes(m);

    const before = decoded(bytes);
    const after = decoded(out);
    const clipAfter = after.graph.node.find((n: { name: string }) => n.name === 'clip');
    expect(clipAfter.input).toEqual(['y', 'clip_min']);
    const added = after.graph.initializer.find((t: { name: string }) => t.name === 'clip_min');
    expect(added).toMatchObject({ name: 'clip_min', dataType: 1 });
    expect(new Float32Array(new Uint8Array(Buffer.from(added.rawData, 'base64')).buffer)).toEqual(Float32Array.of(-1));

    before.graph.node.find((n: { name: string }) => n.name === 'clip').input = ['y', 'clip_min'];
    after.graph.initializer = after.graph.initializer.filter((t: { name: string }) => t.name !== 'clip_min');
    expect(after).toEqual(before);
    // Functions, training info and metadata are still there.
    expect(after.functions).toHaveLength(1);
    expect(after.trainingInfo).toHaveLength(1);
    expect(after.metadataProps).toHaveLength(2);
  });

  it('io: removing and adding nodes keeps the remaining nodes and their unknown fields', async () => {
    const extra = unknownFields(42);
    const m = await loadModel(handModel({ node: extra }));
    const add = m.graph.nodes.find((n) => n.opType === 'Add')!;
    m.graph.nodes = m.graph.nodes.filter((n) => n !== add);
    m.graph.nodes.push(new Node('Sub', ['h', 'b'], ['y'], 'sub'));
    const out = modelToBytes(m);
    const after = decoded(out);
    expect(after.graph.node.map((n: { opType: string }) => n.opType)).toEqual(['LeakyRelu', 'Sub']);
    expect(after.graph.node[1]).toEqual({ input: ['h', 'b'], output: ['y'], name: 'sub', opType: 'Sub' });
    expect(contains(out, extra)).toBe(true);
    // Reloading our own output is stable: a second save gives the same bytes.
    expect(Buffer.from(modelToBytes(await loadModel(out))).equals(Buffer.from(out))).toBe(true);
  });
});
