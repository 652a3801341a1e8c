/**
 * `npm run bench:prune-patterns`: structured pruning on the real-model corpus models whose
 * channels cross exporter patterns (LayerNorm written out as ops, Reshape targets computed
 * from Shape → Gather → Concat). For each model and channel fraction (unsupported=skip): the
 * channels and parameters removed, and the output agreement with the float model on 8
 * data-like samples (cosine, SQNR dB) of
 *  - `pruned`: the model prune writes (its LayerNorms normalise over the kept features), and
 *    its largest difference from the masked original in prune's own check (random inputs);
 *  - `masked, full stats`: the original with the same channels masked out after their
 *    LayerNorms but every LayerNorm still normalising over all features — the part of the
 *    change that is the removed channels themselves, not the renormalisation.
 *
 *   npm run bench:prune-patterns [-- --only id1,id2 --fractions 0.25,0.5]
 */
import { analyzeEveryGraph } from '../../src/prune/channel-graph.ts';
import { planChannels } from '../../src/prune/channel-plan.ts';
import { maskReference } from '../../src/prune/channel-rewrite.ts';
import { pruneModel } from '../../src/prune/prune.ts';
import { loadModel } from '../../src/io/load.ts';
import type { Model } from '../../src/ir/model.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { constantsToInitializers } from '../../src/transforms/constants-to-initializers.ts';
import { sinkInitializers } from '../../src/transforms/sink-initializers.ts';
import { createSession } from '../../src/runtime/ort.ts';
import type { HostTensor } from '../../src/runtime/types.ts';
import { parseInputShapes } from '../../src/runtime/shapes.ts';
import { loadavg } from 'node:os';
import { arg } from './args.ts';
import { loadManifest, modelPath, type CorpusModel } from './corpus/corpus.ts';
import { compare } from './corpus/compare.ts';
import { feeds } from './corpus/inputs.ts';

const DEFAULT_IDS = ['ppocrv4-rec', 'ppocr-mobile-v2-cls', 'oww-hey-jarvis', 'oww-hey-rhasspy', 'oww-hello-deepa'];

async function outputs(model: Model | string, inputs: Record<string, HostTensor>[]): Promise<Record<string, HostTensor>[]> {
  const s = await createSession(typeof model === 'string' ? model : modelToBytes(model), { threads: 1 });
  try {
    const out = [];
    for (const f of inputs) out.push(await s.run(f));
    return out;
  } finally {
    await s.close();
  }
}

/** The original with the plan's channels masked after their LayerNorms, whose statistics still cover every feature. */
async function maskedFullStatistics(file: string, fraction: number): Promise<Model> {
  const m = await loadModel(file);
  constantsToInitializers(m.graph);
  sinkInitializers(m.graph);
  for (const g of m.graph.walk()) g.sortTopologically();
  const reference = m.clone();
  const graphs = [...reference.graph.walk()];
  for (const [i, cg] of analyzeEveryGraph(m, 'skip').entries()) {
    const plan = planChannels(cg, { fraction, overrides: {}, criterion: 'l1', keep: new Map() });
    maskReference({ ...cg, statistics: [] }, plan, reference, graphs[i]);
  }
  return reference;
}

const fmt = (v: { cosine: number; sqnr: number }) => `${v.cosine.toFixed(4)} / ${Number.isFinite(v.sqnr) ? v.sqnr.toFixed(1) : '∞'}`;

async function bench(m: CorpusModel, fractions: number[]): Promise<string[]> {
  const file = modelPath(m);
  const specs = (await createSession(file)).inputs;
  const samples = await Promise.all(Array.from({ length: 8 }, (_, i) => feeds(m, specs, 1, 1000 + i)));
  const float = await outputs(file, samples);
  const rows: string[] = [];
  for (const fraction of fractions) {
    const pruned = await loadModel(file);
    const r = await pruneModel(pruned, { channels: fraction, unsupported: 'skip' }, { shapes: parseInputShapes(m.shapes) });
    const renorm = r.notes.find((n) => /LayerNorm\(s\)/.test(n))?.match(/channels: (\d+) LayerNorm/)?.[1] ?? '0';
    const ours = compare(float, await outputs(pruned, samples));
    const full = compare(float, await outputs(await maskedFullStatistics(file, fraction), samples));
    const params = `${r.paramsBefore} → ${r.paramsAfter} (−${((1 - r.paramsAfter / r.paramsBefore) * 100).toFixed(1)} %)`;
    const check = r.verifyMaxDiff === undefined ? 'not run' : r.verifyMaxDiff.toExponential(1);
    rows.push(`| ${m.id} | ${fraction} | ${r.channelsRemoved} | ${params} | ${renorm} | ${check} | ${fmt(ours)} | ${fmt(full)} |`);
    process.stderr.write(`${rows.at(-1)}\n`);
  }
  return rows;
}

const only = arg('only', DEFAULT_IDS.join(',')).split(',');
const fractions = arg('fractions', '0.25,0.5').split(',').map(Number);
const started = loadavg().map((l) => l.toFixed(2)).join(', ');
const lines = [
  '| model | channels | removed | parameters | LayerNorms renormalised | max diff vs masked original | pruned: cosine / SQNR dB | masked, full stats: cosine / SQNR dB |',
  '|:---|---:|---:|:---|---:|---:|:---|:---|',
];
for (const m of loadManifest().filter((x) => only.includes(x.id))) lines.push(...(await bench(m, fractions)));
console.log(lines.join('\n'));
console.log(`\nload average at start ${started}, at end ${loadavg().map((l) => l.toFixed(2)).join(', ')}; unsupported=skip; 8 data-like samples per model.`);
