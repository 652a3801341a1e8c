import { describe, expect, it } from 'vitest';
import { CheckError, InputError } from '../../src/errors.ts';
import { GraphBuilder } from '../../src/ir/builder.ts';
import type { Model } from '../../src/ir/model.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { definePass, defineExportPass, type PipelineStep } from '../../src/api/index.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { quantizeModelInt4 } from '../../src/quant/int4/int4.ts';
import { errorOf } from '../helpers/errors.ts';
import { randomFloats } from '../helpers/run-model.ts';

function mlp(): Model {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', ['N', 64]);
  const [h] = b.node('MatMul', [x, b.initializer('w1', randomFloats(64 * 32, 1), [64, 32])]);
  const [r] = b.node('Relu', [h]);
  const [y] = b.node('Identity', [r]);
  b.output(y, 'float32', ['N', 32]);
  return b.build();
}

/** A pass that edits the model, then fails its own check: what the pipeline must undo. */
const halfway = definePass({
  name: 'halfway',
  kind: 'cleanup',
  description: 'test pass',
  options: { level: { type: 'enum', default: 'low', values: ['low', 'high'], description: 'an enum' } },
  async run(model, options) {
    const level: 'low' | 'high' = options.level; // the schema's enum values are the option's type
    model.graph.nodes.pop();
    throw new CheckError(`gave up at ${level}`);
  },
});

describe('pipeline: steps', () => {
  it('pipeline: a step names its pass by name or by object', async () => {
    const m = mlp();
    const r = await runPipeline(m, [{ pass: 'cleanup' }]);
    expect(r.stages.map((s) => s.pass)).toEqual(['cleanup']);
    expect(m.graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Relu']);
  });

  it('pipeline: a wrong step is an InputError naming it, before any pass runs', async () => {
    const m = mlp();
    const before = modelToBytes(m);
    const cases: Array<[unknown, RegExp]> = [
      [[{ pass: 'cleanup' }, undefined], /^pipeline step 2 is undefined; expected \{ pass, options\? \}$/],
      [[{ pass: 'clenup' }], /^pipeline step 1: unknown pass 'clenup' \(available: cleanup, opset, distill, prune, quantize, quantize-int4, export-tflite\)$/],
      [[{ pass: undefined }], /^pipeline step 1: 'pass' must be a pass name .* got undefined$/],
      [[{ pass: 'cleanup', options: { fold: 'maybe' } }], /^pass 'cleanup': option 'fold' must be true or false, got "maybe"$/],
      [[{ pass: 'cleanup', options: 3 }], /^pipeline step 1 \(cleanup\): 'options' must be an object$/],
      [[{ pass: halfway, options: { level: 'mid' } }], /^pass 'halfway': option 'level' must be one of low, high, got "mid"$/],
    ];
    for (const [steps, message] of cases) {
      const err = await errorOf(runPipeline(m, steps as PipelineStep[]));
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(message);
    }
    expect(modelToBytes(m)).toEqual(before);
  });

  it('pipeline: a pass that fails leaves the model as it was', async () => {
    const m = mlp();
    const before = modelToBytes(m);
    const err = await errorOf(runPipeline(m, [{ pass: 'cleanup' }, { pass: halfway, options: { level: 'high' } }]));
    expect(err.message).toBe("pass 'halfway': gave up at high");
    // cleanup's result was adopted; halfway's edit was not.
    expect(m.graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Relu']);
    expect(modelToBytes(m)).not.toEqual(before);
  });

  it('pipeline: an export pass ends the pipeline, returns its artifact and leaves the model unchanged', async () => {
    const seen: string[] = [];
    const fake = defineExportPass({
      name: 'export-fake',
      kind: 'export',
      description: 'test exporter',
      extension: '.fake',
      options: {},
      async export(model) {
        return { format: 'fake', extension: '.fake', bytes: new TextEncoder().encode(model.graph.nodes.map((n) => n.opType).join(',')) };
      },
      async verify(artifact) {
        seen.push(new TextDecoder().decode(artifact.bytes));
      },
    });
    const m = mlp();
    const r = await runPipeline(m, [{ pass: 'cleanup' }, { pass: fake }]);
    expect(seen).toEqual(['MatMul,Relu']);
    expect(r.artifact?.format).toBe('fake');
    expect(r.stages[1]).toMatchObject({ pass: 'export-fake', bytes: 'MatMul,Relu'.length });
    const err = await errorOf(runPipeline(mlp(), [{ pass: fake }, { pass: 'cleanup' }]));
    expect(err.message).toBe("pipeline step 1: export pass 'export-fake' must be the last step");
  });

  it('pipeline: passes see the model as the pipeline received it', async () => {
    let inputNodes: number | undefined;
    const probe = definePass({
      name: 'probe',
      kind: 'cleanup',
      description: 'test pass',
      options: {},
      async run(_model, _options, ctx) {
        inputNodes = ctx.inputModel?.graph.nodes.length;
        return {};
      },
    });
    await runPipeline(mlp(), [{ pass: 'cleanup' }, { pass: probe }]);
    expect(inputNodes).toBe(3);
  });
});

describe('model: clone', () => {
  it('clone: shares weight payloads until one side writes, and edits never cross', () => {
    const m = mlp();
    const c = m.clone();
    const w = m.graph.initializers.get('w1')!;
    const wc = c.graph.initializers.get('w1')!;
    expect(wc).not.toBe(w);
    expect(wc.payload).toBe(w.payload);
    wc.setTyped(new Float32Array(64 * 32), [64, 32]);
    expect(w.toFloat32()[0]).toBe(randomFloats(64 * 32, 1)[0]);
    c.graph.nodes[0]!.inputs[0] = 'other';
    c.graph.nodes[1]!.setAttr('alpha', 2);
    expect(m.graph.nodes[0]!.inputs[0]).toBe('x');
    expect(m.graph.nodes[1]!.attributes).toEqual([]);
    expect(modelToBytes(m.clone())).toEqual(modelToBytes(m));
  });

  it('int4: a model onnxruntime cannot run leaves the caller\'s model unchanged', async () => {
    const m = mlp();
    m.opsets.set('com.microsoft', 1);
    // An op onnxruntime has no kernel for makes the final check fail after every weight was quantized.
    m.graph.nodes[2]!.opType = 'NoSuchOp';
    m.graph.nodes[2]!.domain = 'com.microsoft';
    const before = modelToBytes(m);
    const err = await errorOf(quantizeModelInt4(m, { algorithm: 'rtn', format: 'matmulnbits', blockSize: 32, scheme: 'symmetric', accuracyLevel: 0, calibSamples: 1, calibBatch: 1, damp: 0.01, sequential: true, opTypes: new Set(['MatMul']), exclude: new Set() }));
    expect(err).toBeInstanceOf(CheckError);
    expect(modelToBytes(m)).toEqual(before);
  });
});
