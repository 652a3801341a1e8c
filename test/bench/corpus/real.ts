/**
 * `npm run bench:real`: every command a user would try, on every model of the real-model
 * corpus (fetch it first: `npm run corpus:fetch`), written to docs/real-models.md.
 *
 *   npm run bench:real [-- --only id1,id2 --commands 'prune channels 25%' --heavy --runs 10 --out docs/real-models.md
 *     --results bench/out/real --render-only]
 *
 * Every model × command row is stored as JSON under --results with the run that measured it
 * (date, commit, load); the page is written from every stored row, so a rerun of some commands
 * or models replaces only their rows.
 *
 * Each command runs the built CLI (`npm run build` first) in a child process, as a user
 * would, with the manifest's `--input-shape`s, `--no-latency` (timed here instead) and
 * `--quiet`: its exit code and the last line it printed are recorded. Static int8 is
 * calibrated on 32 data-like samples (inputs.ts); outputs are compared with the float model
 * on 8 other data-like samples (cosine and SQNR of the worst output); latency is the median
 * of interleaved float/output runs at batch 1 and 32 (one call of 32 when every input has a
 * free leading dim, else 32 calls), one onnxruntime thread. Models marked heavy run only
 * with --heavy, and then without batch 32.
 */
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeNpz } from '../../../src/data/npz.ts';
import { createSession, type OrtSession } from '../../../src/runtime/ort.ts';
import type { HostTensor } from '../../../src/runtime/types.ts';
import { arg, flag } from '../args.ts';
import { type CorpusModel, loadManifest, modelPath, repoRoot } from './corpus.ts';
import { batchable, feeds, inputShape } from './inputs.ts';
import { explain } from './causes.ts';
import { compare } from './compare.ts';

interface Command {
  name: string;
  args: (calib: string) => string[];
  /** Writes a model whose outputs are compared with the float one. */
  writes: boolean;
}

const COMMANDS: Command[] = [
  { name: 'inspect', args: () => ['inspect'], writes: false },
  { name: 'cleanup', args: () => ['compress', '--passes', 'cleanup'], writes: true },
  { name: 'cleanup + opset', args: () => ['compress', '--passes', 'cleanup,opset'], writes: true },
  { name: 'int8 dynamic', args: () => ['quantize', '--mode', 'dynamic'], writes: true },
  { name: 'int8 static', args: (calib) => ['quantize', '--calib', calib], writes: true },
  { name: 'int4', args: () => ['quantize-int4'], writes: true },
  { name: 'prune 50%', args: () => ['prune', '--sparsity', '0.5'], writes: true },
  { name: 'prune channels 25%', args: () => ['prune', '--channels', '0.25'], writes: true },
];

interface Row {
  command: string;
  exit: number;
  message: string;
  sizeRatio?: number;
  cosine?: number;
  sqnr?: number;
  latency?: { b1: [number, number]; b32?: [number, number] };
  comparison?: string;
}

const CLI = join(repoRoot, 'bin/shrinkray.js');
const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Exit code and what the command said: its error line, else the report's notes (`--json`). */
function runCli(argv: string[]): { exit: number; message: string } {
  const r = spawnSync(process.execPath, [CLI, ...argv], { encoding: 'utf8', timeout: 20 * 60_000, maxBuffer: 64 * 2 ** 20 });
  const exit = r.status ?? (r.signal ? 128 : 3);
  const error = r.stderr.split('\n').filter((l) => l.startsWith('shrinkray:')).at(-1);
  if (error) return { exit, message: error.replace(/^shrinkray: /, '') };
  try {
    const notes = (JSON.parse(r.stdout) as { notes?: string[] }).notes ?? [];
    return { exit, message: notes.join(' · ') };
  } catch {
    return { exit, message: '' };
  }
}

async function outputsOn(session: OrtSession, inputs: Record<string, HostTensor>[]): Promise<Record<string, HostTensor>[]> {
  const out = [];
  for (const f of inputs) out.push(await session.run(f));
  return out;
}

/** Median ms of `calls` runs of `feed`, float and output interleaved run by run. */
async function interleaved(a: OrtSession, b: OrtSession, feed: Record<string, HostTensor>, calls: number, runs: number): Promise<[number, number]> {
  const times: [number[], number[]] = [[], []];
  for (let r = -1; r < runs; r++) {
    for (const [i, s] of [a, b].entries()) {
      const t0 = performance.now();
      for (let c = 0; c < calls; c++) await s.run(feed);
      if (r >= 0) times[i]!.push(performance.now() - t0); // r = -1 warms up
    }
  }
  const median = (v: number[]) => v.sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
  return [median(times[0]), median(times[1])];
}

async function benchModel(m: CorpusModel, work: string, runs: number, commands: readonly Command[]): Promise<Row[]> {
  const file = modelPath(m);
  const float = await createSession(file, { threads: 1 });
  const rows: Row[] = [];
  try {
    const specs = float.inputs;
    const b32 = batchable(specs);
    const evalFeeds = await Promise.all(Array.from({ length: 8 }, (_, i) => feeds(m, specs, 1, 1000 + i)));
    const reference = await outputsOn(float, evalFeeds);
    // Calibration: 32 other samples, by input name (x when the model has one input).
    const calib = join(work, `${m.id}-calib.npz`);
    const samples = await Promise.all(Array.from({ length: 32 }, (_, i) => feeds(m, specs, 1, i)));
    const arrays = Object.fromEntries(specs.map((s) => {
      // One row per sample: the input's shape for one sample, without a batch-of-1 leading dim.
      const one = inputShape(m, s, 1);
      const row = one[0] === 1 ? one.slice(1) : one;
      const all = s.dtype === 'int64' ? new BigInt64Array(samples.length * size(row)) : new Float32Array(samples.length * size(row));
      samples.forEach((f, i) => all.set(f[s.name]!.data as never, i * size(row)));
      return [specs.length === 1 ? 'x' : s.name, { dtype: s.dtype as 'float32', shape: [samples.length, ...row], data: all }];
    }));
    await writeNpz(calib, arrays);
    const shapeFlags = m.shapes.flatMap((s) => ['--input-shape', s]);
    const b1Feed = evalFeeds[0]!;
    const bNFeed = b32 && !m.heavy ? await feeds(m, specs, 32, 77) : b1Feed;
    for (const c of commands) {
      if (m.heavy && !['inspect', 'cleanup', 'int8 dynamic'].includes(c.name)) continue;
      const out = join(work, `${m.id}-${c.name.replace(/\W+/g, '-')}.onnx`);
      // The quality gate compares on the same data-like samples (random noise is no VAD's input).
      const argv = c.writes ? [...c.args(calib), file, '-o', out, ...shapeFlags, '--data', calib, '--no-latency', '--compressed-sizes', 'never', '--json'] : [...c.args(calib), file];
      process.stderr.write(`${m.id}: ${c.name} … `);
      const { exit, message } = runCli(argv);
      process.stderr.write(`exit ${exit}\n`);
      const row: Row = { command: c.name, exit, message };
      rows.push(row);
      if (!c.writes || exit !== 0 || !existsSync(out)) continue;
      row.sizeRatio = statSync(out).size / statSync(file).size;
      let session: OrtSession;
      try {
        session = await createSession(out, { threads: 1 });
      } catch (err) {
        row.comparison = `output does not load: ${(err as Error).message.split('\n')[0]}`;
        continue;
      }
      try {
        Object.assign(row, compare(reference, await outputsOn(session, evalFeeds)));
        const b1 = await interleaved(float, session, b1Feed, 1, runs);
        const bN = m.heavy ? undefined : await interleaved(float, session, bNFeed, b32 ? 1 : 32, Math.max(3, Math.floor(runs / 2)));
        row.latency = { b1, b32: bN };
      } catch (err) {
        row.comparison = `output fails on data-like inputs: ${(err as Error).message.split('\n')[0]}`;
      } finally {
        await session.close();
        rmSync(out, { force: true });
      }
    }
  } finally {
    await float.close();
  }
  return rows;
}

const fmt = {
  ratio: (v?: number) => (v === undefined ? '' : `${v.toFixed(2)}×`),
  cos: (v?: number) => (v === undefined ? '' : v.toFixed(4)),
  db: (v?: number) => (v === undefined ? '' : Number.isFinite(v) ? `${v.toFixed(1)}` : '∞'),
  ms: (p?: [number, number]) => (p === undefined ? '' : `${p[0].toFixed(p[0] < 10 ? 2 : 0)} → ${p[1].toFixed(p[1] < 10 ? 2 : 0)}`),
};

function markdown(models: CorpusModel[], results: Map<string, StoredRow[]>, meta: string, label: (r: RunInfo) => string): string {
  const lines = [
    '# shrinkray on real third-party models',
    '',
    'Generated by `npm run bench:real` (test/bench/corpus/real.ts) from the corpus in',
    '`test/bench/corpus/manifest.json` (`npm run corpus:fetch` downloads it; nothing of it is committed).',
    'Each command runs the CLI as a user would, with the manifest\'s `--input-shape`s. Columns: exit code;',
    'output size / input size; cosine and SQNR (dB) of the worst output against the float model on 8',
    'data-like samples (see below); median latency float → output in ms at batch 1 and 32, float and output',
    'runs interleaved, one onnxruntime thread; the last line the command printed (error or note), and',
    'for failures its cause.',
    '',
    meta,
    '',
    '## The corpus',
    '',
    '| id | package@version | licence | exporter | opset | task | traits |',
    '|:---|:---|:---|:---|---:|:---|:---|',
    ...models.map((m) => `| ${m.id} | ${m.package}@${m.version} | ${m.licence} | ${m.exporter} | ${m.opset} | ${m.task} | ${m.traits.join('; ')} |`),
    '',
    'Data-like inputs (test/bench/corpus/inputs.ts): `image` a scene of gradients and shapes (ImageNet',
    'normalisation); `text-image`/`text-line` dark word-like strokes on a light page or line (PaddleOCR',
    'normalisations); `speech` 16 kHz voiced sound with a wandering pitch, harmonics, syllable envelope and',
    'fricative noise; `mel`/`embedding` that speech through the corpus\'s openWakeWord front end. Recurrent',
    'state inputs are zeros, the sample-rate input 16000. Every command that writes a model gets 32 such samples',
    'as `--data` (so its quality gate compares on them, not on random noise) and static int8 as `--calib`; the',
    'comparison below uses 8 others.',
    '',
    '## Results',
  ];
  for (const m of models) {
    const rows = results.get(m.id);
    if (!rows) continue;
    lines.push('', `### ${m.id}`, '', `${m.task}; ${m.exporter}, opset ${m.opset}; data: ${m.data}${m.shapes.length ? `; ${m.shapes.map((s) => `\`--input-shape ${s}\``).join(' ')}` : ''}`, '');
    lines.push('| command | run | exit | size | cosine | SQNR dB | b1 ms | b32 ms | message | cause |', '|:---|:---|---:|---:|---:|---:|---:|---:|:---|:---|');
    for (const r of rows) {
      const message = (r.comparison ?? r.message).slice(0, 400).replace(/\|/g, '\\|').replace(/\/[^\s'"]*\/(corpus-cache|corpus|shrinkray-real-[^/]+)\//g, '');
      lines.push(`| ${r.command} | ${label(r.run)} | ${r.exit} | ${fmt.ratio(r.sizeRatio)} | ${fmt.cos(r.cosine)} | ${fmt.db(r.sqnr)} | ${fmt.ms(r.latency?.b1)} | ${fmt.ms(r.latency?.b32)} | ${message} | ${explain(r)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One invocation of this script: the rows it measured name it (`run` in the table). */
interface RunInfo {
  started: string;
  commit: string;
  load: string;
  loadAfter: string;
  runs: number;
}

interface StoredRow extends Row {
  run: RunInfo;
}

/** A stored row per model × command (`--results`): a rerun of some replaces theirs and keeps the rest. */
function storedRows(dir: string, models: readonly CorpusModel[]): Map<string, StoredRow[]> {
  const byModel = new Map<string, StoredRow[]>();
  for (const m of models) {
    const rows = COMMANDS.map((c) => join(dir, m.id, `${c.name.replace(/\W+/g, '-')}.json`))
      .filter((f) => existsSync(f))
      .map((f) => JSON.parse(readFileSync(f, 'utf8')) as StoredRow);
    if (rows.length) byModel.set(m.id, rows);
  }
  return byModel;
}

function runsLine(rows: Iterable<StoredRow[]>): { meta: string; label: (r: RunInfo) => string } {
  const runs = [...new Map([...rows].flat().map((r) => [r.run.started, r.run])).values()].sort((a, b) => a.started.localeCompare(b.started));
  const label = (r: RunInfo) => String.fromCharCode(65 + runs.findIndex((x) => x.started === r.started));
  const meta = runs
    .map((r) => `Run ${label(r)}: ${r.started} at commit ${r.commit}, load average at start ${r.load}, at end ${r.loadAfter}; ${r.runs} timed runs at batch 1, ${Math.max(3, Math.floor(r.runs / 2))} at batch 32.`)
    .join('\n');
  return { meta: `On ${process.platform} ${process.arch}, Node ${process.versions.node}, 2 cores shared with other work. Each row names the run that measured it (a later run of some commands replaces only their rows):\n\n${meta}`, label };
}

async function main(): Promise<void> {
  const only = arg('only', '').split(',').filter(Boolean);
  const runs = Number(arg('runs', '10'));
  const names = arg('commands', '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !COMMANDS.some((c) => c.name === n));
  if (unknown.length) throw new Error(`unknown command(s) ${unknown.join(', ')} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
  const commands = names.length ? COMMANDS.filter((c) => names.includes(c.name)) : COMMANDS;
  const outFile = arg('out', join(repoRoot, 'docs/real-models.md'));
  const resultsDir = resolve(repoRoot, arg('results', 'bench/out/real'));
  const models = loadManifest().filter((m) => (only.length ? only.includes(m.id) : !m.heavy || flag('heavy')));
  const missing = models.filter((m) => !existsSync(modelPath(m)));
  if (!flag('render-only')) {
    if (missing.length) throw new Error(`not in the cache: ${missing.map((m) => m.id).join(', ')} (npm run corpus:fetch)`);
    if (!existsSync(join(repoRoot, 'dist'))) throw new Error('build first: npm run build');
    const work = mkdtempSync(join(tmpdir(), 'shrinkray-real-'));
    const run = { started: new Date().toISOString(), commit: execSync('git rev-parse --short HEAD', { cwd: repoRoot, encoding: 'utf8' }).trim(), load: loadavg().map((l) => l.toFixed(2)).join(', '), loadAfter: '', runs };
    try {
      for (const m of models) {
        const rows = await benchModel(m, work, runs, commands);
        mkdirSync(join(resultsDir, m.id), { recursive: true });
        run.loadAfter = loadavg().map((l) => l.toFixed(2)).join(', ');
        for (const r of rows) writeFileSync(join(resultsDir, m.id, `${r.command.replace(/\W+/g, '-')}.json`), JSON.stringify({ ...r, run }));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const all = loadManifest();
  const results = storedRows(resultsDir, all);
  const { meta, label } = runsLine(results.values());
  writeFileSync(outFile, markdown(all.filter((m) => results.has(m.id)), results, meta, label));
  console.log(`wrote ${outFile}`);
}

await main();
