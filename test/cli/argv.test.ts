import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

const received: Record<string, unknown> = {};
vi.mock('../../src/cli/commands/inspect.ts', () => ({ inspectCommand: async (a: unknown) => ((received.inspect = a), 0) }));
vi.mock('../../src/cli/commands/compress.ts', () => ({ compressCommand: async (a: unknown) => ((received.compress = a), 0) }));
vi.mock('../../src/cli/commands/eval.ts', () => ({ evalCommand: async (a: unknown) => ((received.eval = a), 0) }));
vi.mock('../../src/cli/commands/distill.ts', () => ({ distillCommand: async (a: unknown) => ((received.distill = a), 0) }));

const sink = () => {
  let text = '';
  return { write: (s: string) => (text += s), get text() { return text; } };
};

const cases: Array<[string, string[], string, Record<string, unknown>]> = [
  ['inspect defaults', ['inspect', 'm.onnx'], 'inspect', { model: 'm.onnx', top: 15, json: false }],
  ['inspect --json --top', ['inspect', 'm.onnx', '--json', '--top', '3'], 'inspect', { model: 'm.onnx', top: 3, json: true }],
  ['eval with baseline', ['eval', 'q.onnx', '--baseline', 'f.onnx', '--data', 'd.npz', '--limit', '100', '--threads', '1'], 'eval', { model: 'q.onnx', baseline: 'f.onnx', data: 'd.npz', limit: 100, threads: 1, batchSize: 64 }],
  // latency and verify unset: decided by the model's size against --large-model (src/cli/large-model.ts).
  ['compress defaults', ['compress', 'a.onnx', '-o', 'b.onnx'], 'compress', { input: 'a.onnx', output: 'b.onnx', passes: ['cleanup'], set: [], externalData: false, largeModel: '128MiB', report: [] }],
  ['compress forcing the runs of a large model', ['compress', 'a.onnx', '-o', 'b.onnx', '--latency', '--verify', '--large-model', '1GB'], 'compress', { verify: true, latency: true, largeModel: '1GB' }],
  [
    'compress passes and settings',
    ['compress', 'a.onnx', '--output', 'b.onnx', '--passes', 'cleanup,cleanup', '--set', 'cleanup.fold=false', '--external-data', '--data', 'd.npz', '--max-size', '300KB', '--max-accuracy-drop', '0.5', '--min-speedup', '1.2', '--report', 'r.json', '--report', 'r.md', '--no-latency'],
    'compress',
    { passes: ['cleanup', 'cleanup'], set: ['cleanup.fold=false'], externalData: true, data: 'd.npz', maxSize: '300KB', maxAccuracyDrop: 0.5, minSpeedup: ['1.2'], report: ['r.json', 'r.md'], latency: false },
  ],
  [
    'distill defaults',
    ['distill', '--teacher', 't.onnx', '--student', 's.onnx', '--data', 'train.npz', '-o', 'o.onnx'],
    'distill',
    { teacher: 't.onnx', student: 's.onnx', data: 'train.npz', output: 'o.onnx', epochs: 5, lr: 0.02, alpha: 0.5, temperature: 2, shift: -1, optimizer: 'adam', schedule: 'cosine', warmup: 0, recalibrateBn: true, quantAware: false, seed: 0 },
  ],
  [
    'distill options',
    ['distill', '--teacher', 't.onnx', '--student', 's.onnx', '--data', 'x.npy', '-o', 'o.onnx', '--alpha', '1', '--optimizer', 'sgd', '--momentum', '0.8', '--schedule', 'step', '--val-split', '0.1', '--patience', '2', '--hints', 'auto', '--quant-aware', '--warmup', '0.5', '--no-recalibrate-bn', '--eval-data', 'test.npz'],
    'distill',
    { alpha: 1, optimizer: 'sgd', momentum: 0.8, schedule: 'step', valSplit: 0.1, patience: 2, hints: 'auto', quantAware: true, warmup: 0.5, recalibrateBn: false, evalData: 'test.npz' },
  ],
];

describe('cli argv', () => {
  for (const [name, argv, command, expected] of cases) {
    it(`cli: ${name}`, async () => {
      delete received[command];
      const code = await main(argv, { stdout: sink(), stderr: sink() });
      expect(code).toBe(0);
      expect(received[command]).toMatchObject(expected);
    });
  }

  it('cli: compress leaves --latency and --verify unset by default (decided by size)', async () => {
    await main(['compress', 'a.onnx', '-o', 'b.onnx'], { stdout: sink(), stderr: sink() });
    expect(received.compress).not.toHaveProperty('latency');
    expect(received.compress).not.toHaveProperty('verify');
  });

  it('cli: unknown command and missing output are usage errors (exit 2, one line)', async () => {
    for (const argv of [['bogus'], ['compress', 'a.onnx'], []]) {
      const err = sink();
      expect(await main(argv, { stdout: sink(), stderr: err })).toBe(2);
      expect(err.text.trim().split('\n')).toHaveLength(1);
      expect(err.text).toMatch(/^shrinkray: /);
    }
  });
});
