/**
 * The measured tables of docs/pruning.md, on the fixtures and the held-out MNIST split:
 *
 *   npx tsx test/bench/prune-report.ts [--runs 40] [--threads 1] > /tmp/prune-report.md
 *
 * 1. unstructured magnitude 0.5 / 0.7 / 0.9, layer-wise and global, on lenet5 and mlp;
 * 2. N:M 2:4 and 1:4;
 * 3. structured channels 0.5 on lenet5, dscnn and mlp: parameters, accuracy before any
 *    fine-tuning, and onnxruntime-node latency at batch 32 before/after, measured
 *    alternately (A B A B …) so drift on a shared machine hits both alike;
 * 4. storage of a 90 %-sparse lenet5: dense vs sparse_initializer, raw, gzip and brotli;
 * 5. sensitivity of lenet5 (analysed on mnist-calib, suggestion evaluated on mnist-test).
 * Accuracy is top-1 on fixtures/data/mnist-test.npz (2 000 digits, never used to choose).
 */
import { openDataset, type Dataset } from '../../src/data/dataset.ts';
import { accuracyEvaluator } from '../../src/evaluate/accuracy.ts';
import type { Model } from '../../src/ir/model.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { pruneModel } from '../../src/prune/prune.ts';
import { analyzeSensitivity, sensitivityMarkdown } from '../../src/prune/sensitivity.ts';
import type { PruneOptions } from '../../src/prune/types.ts';
import { measureSizes } from '../../src/report/size.ts';
import { compareLatency } from '../../src/runtime/latency.ts';
import { arg } from './args.ts';

const RUNS = Number(arg('runs', '40'));
const THREADS = Number(arg('threads', '1'));

const out: string[] = [];
const print = (line = '') => {
  out.push(line);
  process.stdout.write(`${line}\n`);
};
const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
const kb = (n: number) => `${(n / 1000).toFixed(1)} kB`;

const accuracy = (bytes: Uint8Array, ds: Dataset): Promise<number> => accuracyEvaluator(ds, { batchSize: 500 })(bytes);

async function pruned(name: string, options: Partial<PruneOptions>): Promise<{ model: Model; result: Awaited<ReturnType<typeof pruneModel>> }> {
  const model = await loadModel(`fixtures/${name}.onnx`);
  const result = await pruneModel(model, options);
  return { model, result };
}

async function unstructured(test: Dataset): Promise<void> {
  print('### Unstructured magnitude pruning (no fine-tuning)');
  print();
  print('| model | sparsity asked | ranking | sparsity reached | overall sparsity | top-1 | Δ top-1 (pts) |');
  print('|---|---:|---|---:|---:|---:|---:|');
  for (const name of ['lenet5', 'mlp']) {
    const base = await accuracy(modelToBytes(await loadModel(`fixtures/${name}.onnx`)), test);
    print(`| ${name} | 0 | — | — | — | ${pct(base)} | — |`);
    for (const s of [0.5, 0.7, 0.9]) {
      for (const global of [false, true]) {
        const { model, result } = await pruned(name, { sparsity: s, global });
        const acc = await accuracy(modelToBytes(model), test);
        print(`| ${name} | ${s} | ${global ? 'global' : 'layer-wise'} | ${pct(result.achieved)} | ${pct(result.overallSparsity)} | ${pct(acc)} | ${((acc - base) * 100).toFixed(2)} |`);
      }
    }
  }
  print();
}

async function nm(test: Dataset): Promise<void> {
  print('### N:M semi-structured pruning (no fine-tuning)');
  print();
  print('| model | pattern | zeros in the pruned layers | top-1 | Δ top-1 (pts) |');
  print('|---|---|---:|---:|---:|');
  for (const name of ['lenet5', 'mlp', 'dscnn']) {
    const base = await accuracy(modelToBytes(await loadModel(`fixtures/${name}.onnx`)), test);
    for (const [n, m] of [[2, 4], [1, 4]] as const) {
      const { model, result } = await pruned(name, { pattern: { n, m } });
      const acc = await accuracy(modelToBytes(model), test);
      print(`| ${name} | ${n}:${m} | ${pct(result.achieved)} | ${pct(acc)} | ${((acc - base) * 100).toFixed(2)} |`);
    }
  }
  print();
}

/** The two models timed interleaved in one child process: p50 of each (ms per batch of 32). */
async function sideBySide(a: Uint8Array, b: Uint8Array): Promise<[number, number]> {
  const c = await compareLatency(a, b, { batch: 32, minRuns: RUNS, warmup: 5, threads: THREADS });
  return [c.batchN.a.p50, c.batchN.b.p50];
}

interface Variant {
  label: string;
  options: Partial<PruneOptions>;
  calib?: boolean;
}

const VARIANTS: Record<string, Variant[]> = {
  lenet5: [
    { label: 'l1', options: { criterion: 'l1' } },
    { label: 'bn', options: { criterion: 'bn' } },
    { label: 'l1 + calib', options: { criterion: 'l1' }, calib: true },
    { label: 'bn + calib', options: { criterion: 'bn' }, calib: true },
    { label: 'bn + calib, skip first', options: { criterion: 'bn', skip: ['first'] }, calib: true },
  ],
  dscnn: [
    { label: 'l1', options: { criterion: 'l1' } },
    { label: 'bn', options: { criterion: 'bn' } },
    { label: 'l1 + calib', options: { criterion: 'l1' }, calib: true },
    { label: 'bn + calib', options: { criterion: 'bn' }, calib: true },
  ],
  mlp: [
    { label: 'l1', options: { criterion: 'l1' } },
    { label: 'l1 + calib', options: { criterion: 'l1' }, calib: true },
  ],
};

async function structured(test: Dataset, calib: Dataset): Promise<void> {
  print(`### Structured channel pruning, channels 0.5 (no fine-tuning)`);
  print();
  print(`Latency: onnxruntime-node, batch 32, ${THREADS} thread(s), p50 of ${RUNS} runs, median of 5 rounds alternating unpruned / pruned. ` +
    '"calib": biases compensated from 512 mnist-calib digits. Max |Δ|: pruned model vs the original with the removed channels masked, on random inputs (before compensation).');
  print();
  print('| model | variant | params | after | reduction | zeros after | top-1 | after | Δ (pts) | max \\|Δ\\| vs masked | latency ms | after | speed-up |');
  print('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, variants] of Object.entries(VARIANTS)) {
    const original = modelToBytes(await loadModel(`fixtures/${name}.onnx`));
    const accA = await accuracy(original, test);
    for (const v of variants) {
      const model = await loadModel(`fixtures/${name}.onnx`);
      const result = await pruneModel(model, { channels: 0.5, ...v.options }, v.calib ? { calibration: calib } : {});
      const bytes = modelToBytes(model);
      const accB = await accuracy(bytes, test);
      const [la, lb] = await sideBySide(original, bytes);
      const reduction = 1 - result.paramsAfter / result.paramsBefore;
      print(
        `| ${name} | ${v.label} | ${result.paramsBefore} | ${result.paramsAfter} | ${pct(reduction)} | ${pct(result.overallSparsity)} | ${pct(accA)} | ${pct(accB)} | ${((accB - accA) * 100).toFixed(2)} | ` +
          `${result.verifyMaxDiff?.toExponential(1)} | ${la.toFixed(3)} | ${lb.toFixed(3)} | ${(la / lb).toFixed(2)}× |`,
      );
    }
  }
  print();
}

async function storage(): Promise<void> {
  print('### Storage of lenet5 pruned to 90 % (layer-wise)');
  print();
  print('| file | weights | size | gzip | brotli |');
  print('|---|---|---:|---:|---:|');
  const dense0 = modelToBytes(await loadModel('fixtures/lenet5.onnx'));
  const s0 = await measureSizes(dense0, 'always');
  print(`| lenet5.onnx (unpruned) | dense | ${kb(s0.sizeBytes)} | ${kb(s0.gzipBytes!)} | ${kb(s0.brotliBytes!)} |`);
  for (const storage of ['dense', 'auto', 'gzip'] as const) {
    const { model, result } = await pruned('lenet5', { sparsity: 0.9, storage });
    const s = await measureSizes(modelToBytes(model), 'always');
    const sparse = result.storage.filter((c) => c.chosen === 'sparse').map((c) => c.tensor);
    print(`| 90 % sparse, storage=${storage} | ${sparse.length ? `sparse: ${sparse.join(', ')}` : 'dense'} | ${kb(s.sizeBytes)} | ${kb(s.gzipBytes!)} | ${kb(s.brotliBytes!)} |`);
  }
  print();
  print('Per tensor (storage=gzip measures both encodings raw and gzipped):');
  print();
  print('| tensor | dense | sparse | dense gzip | sparse gzip | chosen (gzip) |');
  print('|---|---:|---:|---:|---:|---|');
  const { result } = await pruned('lenet5', { sparsity: 0.9, storage: 'gzip' });
  for (const c of result.storage) print(`| ${c.tensor} | ${c.denseBytes} | ${c.sparseBytes} | ${c.denseGzip} | ${c.sparseGzip} | ${c.chosen} |`);
  print();
}

async function sensitivity(calib: Dataset, test: Dataset): Promise<void> {
  print('### Sensitivity of lenet5 (magnitude; analysed on mnist-calib, 999 digits)');
  print();
  const model = await loadModel('fixtures/lenet5.onnx');
  const r = await analyzeSensitivity(model, calib, { maxDrop: 1, limit: 0 });
  for (const line of sensitivityMarkdown(r).trimEnd().split('\n')) print(line);
  const { model: suggested, result } = await pruned('lenet5', { layerSparsity: r.suggestion.layers });
  const uniform = await pruned('lenet5', { sparsity: result.achieved });
  print();
  print(`On mnist-test: suggested per-layer sparsities ${pct(await accuracy(modelToBytes(suggested), test))} at ${pct(result.achieved)} of the weights zero; ` +
    `the same sparsity layer-wise uniform: ${pct(await accuracy(modelToBytes(uniform.model), test))}.`);
  print();
}

const test = await openDataset('fixtures/data/mnist-test.npz');
const calib = await openDataset('fixtures/data/mnist-calib.npz');
try {
  const started = performance.now();
  await unstructured(test);
  await nm(test);
  await structured(test, calib);
  await storage();
  await sensitivity(calib, test);
  print(`_Generated by \`npx tsx test/bench/prune-report.ts --runs ${RUNS} --threads ${THREADS}\` in ${((performance.now() - started) / 1000).toFixed(0)} s._`);
} finally {
  await test.close();
  await calib.close();
}
