/**
 * `npm run bench`: measures and writes docs/benchmarks.md.
 *
 *   npm run bench [-- --sections fixtures,pytorch,io,cli] [--fixtures lenet5,dscnn] [--rounds 15]
 *     [--threads 1] [--engines onednn,qnnpack] [--dir /tmp/shrinkray-bench] [--layers 16 --dim 4096]
 *     [--timeout 900] [--results bench/out/results] [--out docs/benchmarks.md] [--render-only]
 *
 * Each section's result is stored as JSON in --results when it finishes (with the date, the
 * machine and its load before and after), and the page is written from every stored result:
 * a section can be rerun alone and the others are kept (--render-only rewrites the page only). The 1 GiB sections (io, cli) run last.
 * Generated data stays outside git (the model in --dir, results under bench/out/).
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { arg, flag } from './args.ts';
import { root } from './cli-run.ts';
import { renderPage, type Stored } from './benchmarks-md.ts';
import { runCli, runIo } from './section-big.ts';
import { runFixtures } from './section-fixtures.ts';
import { runPytorch } from './section-pytorch.ts';

const ORDER = ['fixtures', 'pytorch', 'io', 'cli'] as const;
type Section = (typeof ORDER)[number];

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const sections = flag('render-only') ? [] : list(arg('sections', ORDER.join(',')));
const unknown = sections.filter((s) => !ORDER.includes(s as Section));
if (unknown.length) throw new Error(`--sections: unknown ${unknown.join(', ')}; known: ${ORDER.join(', ')}`);
const fixtures = arg('fixtures', '') ? list(arg('fixtures', '')) : undefined;
const rounds = Number(arg('rounds', '15'));
const threads = Number(arg('threads', '1'));
const big = { dir: arg('dir', join(tmpdir(), 'shrinkray-bench')), layers: Number(arg('layers', '16')), dim: Number(arg('dim', '4096')) };
const resultsDir = resolve(root, arg('results', 'bench/out/results'));
const out = resolve(root, arg('out', 'docs/benchmarks.md'));

const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');
const machine = () => `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.versions.node}`;

async function measure(section: Section): Promise<unknown> {
  switch (section) {
    case 'fixtures':
      return runFixtures({ fixtures, rounds, threads });
    case 'pytorch':
      return runPytorch({ fixtures, rounds, engines: arg('engines', 'onednn,qnnpack') });
    case 'io':
      return runIo(big);
    case 'cli':
      return runCli(big, Number(arg('timeout', '900')), join(resultsDir, 'cli.partial.json'));
  }
}

mkdirSync(resultsDir, { recursive: true });
const commit = execSync('git rev-parse --short HEAD', { cwd: root, encoding: 'utf8' }).trim();
for (const section of ORDER.filter((s) => sections.includes(s))) {
  process.stderr.write(`== ${section}\n`);
  const started = new Date().toISOString();
  const loadBefore = load();
  const data = await measure(section);
  const stored: Stored = { section, started, finished: new Date().toISOString(), commit, machine: machine(), loadBefore, loadAfter: load(), data };
  writeFileSync(join(resultsDir, `${section}.json`), `${JSON.stringify(stored, null, 1)}\n`);
}

const stored = Object.fromEntries(
  ORDER.filter((s) => existsSync(join(resultsDir, `${s}.json`))).map((s) => [s, JSON.parse(readFileSync(join(resultsDir, `${s}.json`), 'utf8')) as Stored]),
);
// An interrupted cli section: show what it measured, marked incomplete.
const partial = join(resultsDir, 'cli.partial.json');
if (!stored.cli && existsSync(partial)) {
  const when = statSync(partial).mtime.toISOString();
  stored.cli = { section: 'cli', started: when, finished: when, commit, machine: machine(), loadBefore: 'not recorded', loadAfter: 'not recorded', data: JSON.parse(readFileSync(partial, 'utf8')), incomplete: true };
}
writeFileSync(out, renderPage(stored));
process.stderr.write(`wrote ${out}\n`);
