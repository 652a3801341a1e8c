/**
 * Small models with weights where real exporters put them: Constant nodes (paddle2onnx),
 * If branches (PyTorch exports with a data-dependent branch), Loop bodies (recurrent models).
 */
import { Graph } from '../../src/ir/graph.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { Node } from '../../src/ir/node.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { ValueInfo } from '../../src/ir/value.ts';
import { randomFloats } from './run-model.ts';

const F = 64;

function constantNode(out: string, data: Float32Array, dims: number[]): Node {
  const n = new Node('Constant', [], [out], `${out}_const`);
  n.setAttr('value', Tensor.fromTyped(out, data, dims));
  return n;
}

/** x [N,64] → Gemm (weight in a Constant node) → Relu → Gemm (initializer) → y. */
export function constantWeightModel(): Model {
  const b = new GraphBuilder('constant-weights');
  b.input('x', 'float32', ['N', F]);
  b.graph.nodes.push(constantNode('w0', randomFloats(F * F, 1), [F, F]), constantNode('b0', randomFloats(F, 2), [F]));
  b.node('Gemm', ['x', 'w0', 'b0'], {}, { name: 'g0', outputs: ['h0'] });
  b.node('Relu', ['h0'], {}, { name: 'r0', outputs: ['a0'] });
  b.initializer('w1', randomFloats(F * 8, 3), [F, 8]);
  b.node('MatMul', ['a0', 'w1'], {}, { name: 'm1', outputs: ['y'] });
  b.output('y', 'float32', ['N', 8]);
  return b.build();
}

/** A branch of `ifModel`: three Gemms whose weights are Constant nodes of the branch. */
function branch(tag: string, seed: number): Graph {
  const g = new Graph(`${tag}_branch`);
  let x = 'h';
  for (let i = 0; i < 3; i++) {
    const w = `${tag}_w${i}`;
    const bias = `${tag}_b${i}`;
    g.nodes.push(constantNode(w, randomFloats(F * F, seed + i), [F, F]), constantNode(bias, randomFloats(F, seed + 10 + i), [F]));
    const out = i === 2 ? `${tag}_y` : `${tag}_h${i}`;
    g.nodes.push(new Node('Gemm', [x, w, bias], [out], `${tag}_gemm${i}`));
    x = out;
  }
  g.outputs = [new ValueInfo(`${tag}_y`, { dtype: 'float32', shape: ['N', F] })];
  return g;
}

/**
 * Seven Gemms: one in the main graph (an initializer weight), then three in each branch of
 * an If (weights in Constant nodes of the branch, as in PyTorch exports) on whether the
 * batch's mean is positive: x [N,64] → y [N,64].
 */
export function ifModel(): Model {
  const b = new GraphBuilder('if-gemms');
  b.input('x', 'float32', ['N', F]);
  b.initializer('w', randomFloats(F * F, 40), [F, F]);
  b.node('Gemm', ['x', 'w'], {}, { name: 'pre', outputs: ['h'] });
  b.node('ReduceMean', ['x'], { keepdims: 0 }, { name: 'mean', outputs: ['m'] });
  b.initializer('zero', Float32Array.of(0), []);
  b.node('Greater', ['m', 'zero'], {}, { name: 'positive', outputs: ['c'] });
  b.node('If', ['c'], { then_branch: branch('then', 50), else_branch: branch('else', 70) }, { name: 'branch', outputs: ['y'] });
  b.output('y', 'float32', ['N', F]);
  return b.build();
}

/**
 * A Loop running a MatMul + Tanh cell three times, its weight an initializer of the main
 * graph that only the body reads (as PyTorch exports keep it): x [N,64] → y [N,64], the last state.
 */
export function loopModel(): Model {
  const body = new Graph('cell');
  body.inputs = [new ValueInfo('i', { dtype: 'int64', shape: [] }), new ValueInfo('cond_in', { dtype: 'bool', shape: [] }), new ValueInfo('s', { dtype: 'float32', shape: ['N', F] })];
  body.nodes.push(new Node('MatMul', ['s', 'cell_w'], ['cell_mm'], 'cell_matmul'));
  body.nodes.push(new Node('Tanh', ['cell_mm'], ['s_next'], 'cell_tanh'));
  body.nodes.push(new Node('Identity', ['cond_in'], ['cond_out'], 'cell_cond'));
  body.outputs = [new ValueInfo('cond_out', { dtype: 'bool', shape: [] }), new ValueInfo('s_next', { dtype: 'float32', shape: ['N', F] })];
  const b = new GraphBuilder('loop-cell');
  b.input('x', 'float32', ['N', F]);
  b.initializer('steps', BigInt64Array.of(3n), []);
  b.initializer('cell_w', randomFloats(F * F, 90).map((v) => v * 0.2), [F, F]);
  b.graph.addInitializer(new Tensor('cond', 'bool', [], { kind: 'raw', chunk: Uint8Array.of(1) }));
  b.node('Loop', ['steps', 'cond', 'x'], { body }, { name: 'loop', outputs: ['y'] });
  b.output('y', 'float32', ['N', F]);
  return b.build();
}

/** x [N,16,8,8] → Conv 3×3 (32 ch, bias) → Relu → Conv 3×3 (32 ch, group 2) → ConvTranspose 2×2 stride 2 (16 ch) → y [N,16,16,16]. */
export function convModel(): Model {
  const b = new GraphBuilder('convs', { opsets: { '': 17 } });
  b.input('x', 'float32', ['N', 16, 8, 8]);
  b.initializer('w1', randomFloats(32 * 16 * 9, 1).map((v, i) => v * 0.2 * (1 + (i % 5))), [32, 16, 3, 3]);
  b.initializer('b1', randomFloats(32, 2), [32]);
  b.node('Conv', ['x', 'w1', 'b1'], { pads: [1, 1, 1, 1] }, { name: 'conv1', outputs: ['c1'] });
  b.node('Relu', ['c1'], {}, { name: 'relu1', outputs: ['r1'] });
  b.initializer('w2', randomFloats(32 * 16 * 9, 3).map((v) => v * 0.2), [32, 16, 3, 3]);
  b.node('Conv', ['r1', 'w2'], { pads: [1, 1, 1, 1], group: 2 }, { name: 'conv2', outputs: ['c2'] });
  b.initializer('wt', randomFloats(32 * 16 * 4, 4).map((v) => v * 0.2), [32, 16, 2, 2]);
  b.node('ConvTranspose', ['c2', 'wt'], { strides: [2, 2] }, { name: 'up', outputs: ['y'] });
  b.output('y', 'float32', ['N', 16, 16, 16]);
  return b.build();
}

/** x [T,N,16] → LSTM (hidden 64) → GRU (hidden 64) on its last-step output; weights as initializers. */
export function recurrentModel(): Model {
  const b = new GraphBuilder('recurrent', { opsets: { '': 17 } });
  const H = 64;
  b.input('x', 'float32', [5, 'N', 16]);
  b.initializer('lw', randomFloats(4 * H * 16, 5).map((v) => v * 0.3), [1, 4 * H, 16]);
  b.initializer('lr', randomFloats(4 * H * H, 6).map((v) => v * 0.3), [1, 4 * H, H]);
  b.initializer('lb', randomFloats(8 * H, 7).map((v) => v * 0.1), [1, 8 * H]);
  b.node('LSTM', ['x', 'lw', 'lr', 'lb'], { hidden_size: H }, { name: 'lstm', outputs: ['ly', 'lh'] });
  b.initializer('sq', BigInt64Array.of(1n), [1]);
  b.node('Squeeze', ['ly', 'sq'], {}, { name: 'squeeze', outputs: ['ls'] });
  b.initializer('gw', randomFloats(3 * H * H, 8).map((v) => v * 0.3), [1, 3 * H, H]);
  b.initializer('gr', randomFloats(3 * H * H, 9).map((v) => v * 0.3), [1, 3 * H, H]);
  b.node('GRU', ['ls', 'gw', 'gr'], { hidden_size: H }, { name: 'gru', outputs: ['gy', 'y'] });
  b.output('y', 'float32', [1, 'N', H]);
  return b.build();
}

/**
 * A model only a valid sample rate runs, like silero-vad: h = x [N,4] · W [4,3], then an If
 * on `sr == 16000` passes h on, while its other branch (another rate) reshapes h to rows of 5,
 * which fails for the 3 values of one sample. Random int64 inputs (0 or 1) take that branch.
 */
export function sampleRateModel(): Model {
  const b = new GraphBuilder('sample-rate');
  b.input('x', 'float32', ['N', 4]);
  b.input('sr', 'int64', []);
  b.node('MatMul', ['x', b.initializer('W', randomFloats(12, 80), [4, 3])], {}, { name: 'mm', outputs: ['h'] });
  b.node('Equal', ['sr', b.initializer('rate', BigInt64Array.of(16000n), [])], {}, { name: 'is16k', outputs: ['c'] });
  const pass = new Graph('rate_ok');
  pass.nodes.push(new Node('Identity', ['h'], ['ok_y'], 'ok_id'));
  pass.outputs = [new ValueInfo('ok_y', { dtype: 'float32', shape: ['N', 3] })];
  const fail = new Graph('rate_other');
  const shape = new Node('Constant', [], ['rows5'], 'rows5_const');
  shape.setAttr('value', Tensor.fromTyped('rows5', BigInt64Array.of(-1n, 5n), [2]));
  fail.nodes.push(shape, new Node('Reshape', ['h', 'rows5'], ['other_y'], 'other_reshape'));
  fail.outputs = [new ValueInfo('other_y', { dtype: 'float32', shape: ['M', 5] })];
  b.node('If', ['c'], { then_branch: pass, else_branch: fail }, { name: 'by_rate', outputs: ['y'] });
  b.output('y', 'float32', ['A', 'B']);
  return b.build();
}
