import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { Graph } from '../../src/ir/graph.ts';
import type { Model } from '../../src/ir/model.ts';
import { Node } from '../../src/ir/node.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { ValueInfo } from '../../src/ir/value.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { loadModel } from '../../src/io/load.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { cleanup } from '../../passes/cleanup.ts';
import { maxOutputDiff, randomFloats } from '../helpers/run-model.ts';

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType);

/** Runs cleanup on a copy and returns [original bytes, cleaned model]. */
async function clean(model: Model) {
  const before = modelToBytes(model);
  const copy = await loadModel(before);
  const result = await runPipeline(copy, [{ pass: cleanup }]);
  return { before, after: copy, changes: result.stages[0].changes };
}

function convBnModel() {
  const b = new GraphBuilder('convbn');
  const x = b.input('x', 'float32', ['N', 3, 8, 8]);
  const w = b.initializer('w', randomFloats(4 * 3 * 9, 2), [4, 3, 3, 3]);
  const bias = b.initializer('bias', randomFloats(4, 3), [4]);
  const [c] = b.node('Conv', [x, w, bias], { pads: [1, 1, 1, 1] });
  const gamma = b.initializer('gamma', Float32Array.of(1.5, 0.5, 2, 1), [4]);
  const beta = b.initializer('beta', Float32Array.of(0.1, -0.2, 0.3, 0), [4]);
  const mean = b.initializer('mean', Float32Array.of(0.2, 0.1, -0.3, 0.5), [4]);
  const variance = b.initializer('var', Float32Array.of(0.9, 1.2, 0.4, 2.0), [4]);
  const [y] = b.node('BatchNormalization', [c, gamma, beta, mean, variance], { epsilon: 1e-3 });
  const [r] = b.node('Relu', [y]);
  b.output(r, 'float32', ['N', 4, 8, 8]);
  return b.build();
}

const feeds = (dims: number[], seed = 7) => ({ x: { data: randomFloats(dims.reduce((a, b) => a * b), seed), dims } });

describe('cleanup', () => {
  it("cleanup: drops nodes' doc strings and metadata (exporters' stack traces), keeps the model's metadata", async () => {
    const model = convBnModel();
    for (const n of model.graph.nodes) {
      n.proto.doc_string = `made by ${n.opType}`;
      n.proto.metadata_props = [{ key: 'pkg.torch.onnx.stack_trace', value: 'File "model.py", line 12, in forward\n'.repeat(20) }];
    }
    model.proto.metadata_props = [{ key: 'licence', value: 'MIT' }];
    const { before, after, changes } = await clean(model);
    expect(changes.debugInfoStripped).toBe(3);
    const saved = await loadModel(modelToBytes(after));
    expect(saved.graph.nodes.map((n) => [n.proto.doc_string, n.proto.metadata_props])).toEqual([[undefined, undefined], [undefined, undefined]]);
    expect(saved.proto.metadata_props).toMatchObject([{ key: 'licence', value: 'MIT' }]);
    expect(modelToBytes(after).length).toBeLessThan(before.length - 3 * 700);
  });

  it('cleanup: folds BatchNormalization into Conv and matches onnxruntime within 1e-4', async () => {
    const { before, after, changes } = await clean(convBnModel());
    expect(ops(after)).toEqual(['Conv', 'Relu']);
    expect(changes.batchNormsFolded).toBe(1);
    expect(await maxOutputDiff(before, after, feeds([2, 3, 8, 8]))).toBeLessThanOrEqual(1e-4);
  });

  it('cleanup: folds BatchNormalization into Gemm with transB and no bias', async () => {
    const b = new GraphBuilder('gemmbn');
    const x = b.input('x', 'float32', ['N', 5]);
    const w = b.initializer('w', randomFloats(15, 4), [3, 5]);
    const [g] = b.node('Gemm', [x, w], { transB: 1, alpha: 0.5 });
    const p = (n: string, s: number) => b.initializer(n, randomFloats(3, s).map((v) => v + 1.5), [3]);
    const [y] = b.node('BatchNormalization', [g, p('g', 1), p('b', 2), p('m', 3), p('v', 4)]);
    b.output(y, 'float32', ['N', 3]);
    const { before, after } = await clean(b.build());
    expect(ops(after)).toEqual(['Gemm']);
    expect(await maxOutputDiff(before, after, feeds([4, 5]))).toBeLessThanOrEqual(1e-4);
  });

  it('cleanup: fuses MatMul + bias Add into Gemm on 2-D inputs only, and matches onnxruntime', async () => {
    const b = new GraphBuilder('linear');
    const x = b.input('x', 'float32', ['N', 6]);
    const [m1] = b.node('MatMul', [x, b.initializer('w1', randomFloats(24, 5), [6, 4])], {}, { name: 'fc1.matmul' });
    const [y1] = b.node('Add', [b.initializer('b1', randomFloats(4, 6), [4]), m1], {}, { name: 'fc1' });
    const [u] = b.node('Unsqueeze', [y1, b.initializer('axes', BigInt64Array.of(0n), [1])]);
    // 3-D input: Gemm cannot take it, the pair stays.
    const [m2] = b.node('MatMul', [u, b.initializer('w2', randomFloats(12, 7), [4, 3])], {}, { name: 'fc2.matmul' });
    const [y2] = b.node('Add', [m2, b.initializer('b2', randomFloats(3, 8), [3])], {}, { name: 'fc2' });
    b.output(y2, 'float32', [1, 'N', 3]);
    const { before, after, changes } = await clean(b.build());
    expect(ops(after)).toEqual(['Gemm', 'Unsqueeze', 'MatMul', 'Add']);
    expect(after.graph.nodes[0]!.name).toBe('fc1');
    expect(changes.matmulAddsFused).toBe(1);
    expect(await maxOutputDiff(before, after, feeds([5, 6]))).toBeLessThanOrEqual(1e-5);
  });

  it('cleanup: keeps MatMul + Add when the bias is not a row of N or the product is read elsewhere', async () => {
    const b = new GraphBuilder('keep');
    const x = b.input('x', 'float32', ['N', 6]);
    const [m1] = b.node('MatMul', [x, b.initializer('w1', randomFloats(24, 5), [6, 4])]);
    const [y1] = b.node('Add', [m1, b.initializer('col', randomFloats(5, 6), [5, 1])]); // per-row: Gemm's C cannot
    const [m2] = b.node('MatMul', [x, b.initializer('w2', randomFloats(24, 9), [6, 4])]);
    const [y2] = b.node('Add', [m2, b.initializer('b2', randomFloats(4, 8), [4])]);
    b.output(y1, 'float32', [5, 4]);
    b.output(y2, 'float32', ['N', 4]);
    b.output(m2, 'float32', ['N', 4]);
    const { after } = await clean(b.build());
    expect(ops(after)).toEqual(['MatMul', 'Add', 'MatMul', 'Add']);
  });

  it('cleanup: keeps BatchNormalization whose input is also a graph output', async () => {
    const m = convBnModel();
    const conv = m.graph.nodes[0];
    m.graph.outputs.push(new ValueInfo(conv.outputs[0], { dtype: 'float32', shape: ['N', 4, 8, 8] }));
    const { after } = await clean(m);
    expect(ops(after)).toContain('BatchNormalization');
  });

  it('cleanup: removes Identity and Dropout, including one that is a graph output', async () => {
    const b = new GraphBuilder('ids');
    const x = b.input('x', 'float32', ['N', 4]);
    const [i1] = b.node('Identity', [x]);
    const [r] = b.node('Relu', [i1]);
    const [d] = b.node('Dropout', [r]);
    b.node('Identity', [d], {}, { outputs: ['y'] });
    b.output('y', 'float32', ['N', 4]);
    const { before, after } = await clean(b.build());
    expect(ops(after)).toEqual(['Relu']);
    expect(after.graph.nodes[0].outputs).toEqual(['y']);
    expect(await maxOutputDiff(before, after, feeds([2, 4]))).toBe(0);
  });

  it('cleanup: folds constant subgraphs and Constant nodes into initializers, removes dead code', async () => {
    const b = new GraphBuilder('fold');
    const x = b.input('x', 'float32', ['N', 4]);
    const [c] = b.node('Constant', [], { value: Tensor.fromTyped('c', Float32Array.of(1, 2, 3, 4), [4]) });
    const two = b.initializer('two', Float32Array.of(2), []);
    const [scaled] = b.node('Mul', [c, two]);
    const [y] = b.node('Add', [x, scaled]);
    b.node('Sigmoid', [x]); // dead
    b.output(y, 'float32', ['N', 4]);
    const { before, after, changes } = await clean(b.build());
    expect(ops(after)).toEqual(['Add']);
    expect(changes.nodesFolded).toBe(1);
    const folded = after.graph.initializers.get(after.graph.nodes[0].inputs[1])!;
    expect(Array.from(folded.toFloat32())).toEqual([2, 4, 6, 8]);
    expect([...after.graph.initializers.keys()]).toHaveLength(1);
    expect(await maxOutputDiff(before, after, feeds([3, 4]))).toBe(0);
  });

  it('cleanup: merges identical initializers', async () => {
    const b = new GraphBuilder('dedupe');
    const x = b.input('x', 'float32', ['N', 4]);
    const w1 = b.initializer('w1', randomFloats(16, 9), [4, 4]);
    const w2 = b.initializer('w2', randomFloats(16, 9), [4, 4]);
    const [a] = b.node('MatMul', [x, w1]);
    const [y] = b.node('MatMul', [a, w2]);
    b.output(y, 'float32', ['N', 4]);
    const { before, after } = await clean(b.build());
    expect(after.graph.initializers.size).toBe(1);
    expect(await maxOutputDiff(before, after, feeds([2, 4]))).toBe(0);
  });

  it('cleanup: works inside an If subgraph and keeps outer values the branch reads', async () => {
    const b = new GraphBuilder('ifmodel');
    b.input('x', 'float32', [2]);
    const [cond] = b.node('Constant', [], { value: new Tensor('cond', 'bool', [], { kind: 'raw', chunk: Uint8Array.of(1) }) });
    const branch = (name: string, op: string) => {
      const g = new Graph(name);
      g.nodes = [new Node('Identity', ['x'], [`${name}_id`]), new Node(op, [`${name}_id`], [`${name}_out`])];
      g.outputs = [new ValueInfo(`${name}_out`, { dtype: 'float32', shape: [2] })];
      return g;
    };
    const [y] = b.node('If', [cond], { then_branch: branch('then', 'Relu'), else_branch: branch('else', 'Neg') });
    b.output(y, 'float32', [2]);
    const model = b.build();
    const { before, after } = await clean(model);
    const ifNode = after.graph.nodes.find((n) => n.opType === 'If')!;
    expect(ifNode.subgraphs().map((g) => g.nodes.map((n) => n.opType))).toEqual([['Relu'], ['Neg']]);
    expect(await maxOutputDiff(before, after, { x: { data: Float32Array.of(-1, 2), dims: [2] } })).toBe(0);
  });
});

describe('cleanup: inside a subgraph', () => {
  /**
   * As PyTorch exports LSTM weights into If branches: each branch slices the main graph's W,
   * Concat → Unsqueeze; both branches end up with the same folded weight.
   */
  function branchWeights(): Model {
    const b = new GraphBuilder('branch-weights');
    b.input('x', 'float32', ['N', 16]);
    b.input('c', 'bool', []);
    b.initializer('w', randomFloats(16 * 16, 3), [16, 16]);
    const branch = (tag: string) => {
      const g = new Graph(`${tag}_branch`);
      const t = (name: string, v: bigint[]) => g.addInitializer(Tensor.fromTyped(`${tag}_${name}`, BigInt64Array.from(v), [v.length]));
      t('s0', [0n]);
      t('e0', [8n]);
      t('s1', [8n]);
      t('e1', [16n]);
      t('ax', [0n]);
      g.nodes.push(new Node('Slice', ['w', `${tag}_s0`, `${tag}_e0`, `${tag}_ax`], [`${tag}_top`]));
      g.nodes.push(new Node('Slice', ['w', `${tag}_s1`, `${tag}_e1`, `${tag}_ax`], [`${tag}_bottom`]));
      const cat = new Node('Concat', [`${tag}_bottom`, `${tag}_top`], [`${tag}_w`]);
      cat.setAttr('axis', 0);
      g.nodes.push(cat);
      g.nodes.push(new Node('MatMul', ['x', `${tag}_w`], [`${tag}_y`], `${tag}_mm`));
      g.outputs = [new ValueInfo(`${tag}_y`, { dtype: 'float32', shape: ['N', 16] })];
      return g;
    };
    b.node('If', ['c'], { then_branch: branch('then'), else_branch: branch('else') }, { name: 'if', outputs: ['y'] });
    b.output('y', 'float32', ['N', 16]);
    return b.build();
  }

  it('cleanup: inside a subgraph: weights computed from outer constants fold, and twin results of sibling branches merge into the graph around them', async () => {
    const { before, after, changes } = await clean(branchWeights());
    const [thenB, elseB] = after.graph.nodes.find((n) => n.opType === 'If')!.subgraphs();
    expect([thenB!.nodes.map((n) => n.opType), elseB!.nodes.map((n) => n.opType)]).toEqual([['MatMul'], ['MatMul']]);
    expect(changes.nodesFolded).toBe(6);
    // One folded weight, in the main graph, read by both branches; the original W is gone.
    expect([...after.graph.initializers.keys()]).toEqual([thenB!.nodes[0]!.inputs[1]]);
    expect(elseB!.nodes[0]!.inputs[1]).toBe(thenB!.nodes[0]!.inputs[1]);
    for (const c of [true, false]) {
      const run = async (m: Model | Uint8Array) => {
        const ort = await import('onnxruntime-node');
        const s = await ort.InferenceSession.create(m instanceof Uint8Array ? m : modelToBytes(m));
        return (await s.run({ x: new ort.Tensor('float32', randomFloats(32, 5), [2, 16]), c: new ort.Tensor('bool', [c], []) })).y!.data as Float32Array;
      };
      expect(Array.from(await run(after))).toEqual(Array.from(await run(before)));
    }
  });
});
