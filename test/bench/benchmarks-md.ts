/** docs/benchmarks.md from the stored section results of `npm run bench` (test/bench/run.ts). */
import type { CliData, IoData } from './section-big.ts';
import type { FixturesData, FixtureResult, Timed } from './section-fixtures.ts';
import type { PytorchData, TorchResult } from './section-pytorch.ts';

export interface Stored {
  section: string;
  started: string;
  finished: string;
  commit: string;
  machine: string;
  loadBefore: string;
  loadAfter: string;
  data: unknown;
  /** A section stopped part-way (cli): what it measured so far. */
  incomplete?: boolean;
}

const pct = (f?: number) => (f === undefined ? '—' : `${(100 * f).toFixed(2)} %`);
const ms = (t?: Timed) => (t ? `${t.ms < 1 ? t.ms.toFixed(3) : t.ms.toFixed(2)}` : '—');
const times = (t?: Timed) =>
  t ? `**${t.speedup.toFixed(2)}×**, fastest ${t.fastest.ratio.toFixed(2)}× (${t.fastest.lo.toFixed(2)}–${t.fastest.hi.toFixed(2)})` : '—';
const mib = (n?: number) => (n === undefined ? '—' : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(0)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const cell = (s: string) => s.replaceAll('|', '\\|');

function provenance(s: Stored): string {
  return `Measured ${s.started.slice(0, 16).replace('T', ' ')}–${s.finished.slice(11, 16)} UTC at commit \`${s.commit}\` on ${s.machine}; load average (1, 5, 15 min) ${s.loadBefore} before, ${s.loadAfter} after (2 cores, shared with other jobs).`;
}

function fixtureRows(f: FixtureResult): string[] {
  const fp32 = `| ${f.fixture} | fp32 (the fixture) | ${mib(f.bytes)} | ${pct(f.accuracy)} | ${ms(f.latency['1'])} | 1 | ${ms(f.latency['32'])} | 1 | — |`;
  return [
    fp32,
    ...f.variants.map((v) =>
      v.run.status === 0
        ? `| | ${v.label} | ${mib(v.bytes)} | ${pct(v.accuracy)} | ${ms(v.latency?.['1'])} | ${times(v.latency?.['1'])} | ${ms(v.latency?.['32'])} | ${times(v.latency?.['32'])} | ${v.run.seconds.toFixed(1)} s |`
        : `| | ${v.label} | ${v.run.status === 1 ? 'refused by a check (exit 1, no output)' : `failed (exit ${v.run.status ?? 'killed'})`}: ${cell(v.run.error ?? '')} | | | | | | ${v.run.seconds.toFixed(1)} s |`,
    ),
  ];
}

function fixturesSection(s: Stored): string[] {
  const d = s.data as FixturesData;
  return [
    '## Fixtures: int8 and pruned against fp32 in onnxruntime',
    '',
    provenance(s),
    '',
    `Each variant is made by the CLI from the fixture as committed (\`shrinkray quantize <fixture> --calib ${'fixtures/data/mnist-calib.npz'}\`,`,
    '`shrinkray prune <fixture> --sparsity 0.5 --min-sqnr 0`, `shrinkray prune <fixture> --channels 0.5 --min-sqnr 0`, each with `--no-latency --quiet`),',
    'scored top-1 on the held-out `mnist-test.npz` (2 000 digits, no fine-tuning after pruning). The prunes\' quality-gate floor is',
    'lowered from 20 dB to 0 dB (output error below the signal); a row "refused by a check" is a prune that fails even that. Latency: onnxruntime-node,',
    `${d.threads} intra-op thread, graph optimizations \`all\`, input = the first 1 or 32 test digits; every model of a fixture timed`,
    `in the same process, interleaved call by call (the report's timer, src/runtime/latency.ts), ≥ 30 runs and ≥ ${(d.rounds * 0.04).toFixed(1)} s each.`,
    'ms = p50 of its runs; speed-up = fp32 p50 ÷ variant p50, and "fastest" = the runs cut into 5 rounds, each round\'s fastest',
    'fp32 call ÷ fastest variant call, median (min–max) (the figure least disturbed by other processes on a loaded machine).',
    '"CLI" is the wall time of the command.',
    '',
    '| fixture | model | file | top-1 | b1 ms | b1 speed-up | b32 ms | b32 speed-up | CLI |',
    '|---|---|---|---|---|---|---|---|---|',
    ...d.fixtures.flatMap(fixtureRows),
    '',
  ];
}

function torchLabel(r: TorchResult, prefix: string): string | undefined {
  return Object.keys(r.accuracy).find((k) => k.startsWith(prefix));
}

function pytorchSection(s: Stored, fixtures?: FixturesData): string[] {
  const d = s.data as PytorchData;
  const rows: string[] = [];
  for (const f of d.fixtures) {
    const ours = fixtures?.fixtures.find((x) => x.fixture === f.fixture);
    if (!f.result) {
      rows.push(`| ${f.fixture} | PyTorch failed: ${cell(f.error ?? '')} | | | | | | | |`);
      continue;
    }
    const r = f.result;
    const t = (label: string, b: string) => r.latency[b]?.find((x) => x.label === label);
    const ourVariant = (key: string) => ours?.variants.find((v) => v.key === key);
    const jobs: { job: string; ours: { acc?: number; b1?: Timed; b32?: Timed }; theirs: string[] }[] = [
      { job: 'fp32', ours: { acc: ours?.accuracy, b1: ours?.latency['1'], b32: ours?.latency['32'] }, theirs: ['fp32'] },
      { job: 'int8 PTQ static', ours: { acc: ourVariant('int8')?.accuracy, b1: ourVariant('int8')?.latency?.['1'], b32: ourVariant('int8')?.latency?.['32'] }, theirs: Object.keys(r.accuracy).filter((k) => k.startsWith('int8-')) },
      { job: 'magnitude 50 %', ours: { acc: ourVariant('magnitude')?.accuracy, b1: ourVariant('magnitude')?.latency?.['1'], b32: ourVariant('magnitude')?.latency?.['32'] }, theirs: [torchLabel(r, 'magnitude-') ?? ''] },
    ];
    for (const j of jobs) {
      j.theirs.forEach((label, i) => {
        const lead = i === 0 ? `| ${j.job === 'fp32' ? f.fixture : ''} | ${j.job} | ${pct(j.ours.acc)} | ${ms(j.ours.b1)} / ${ms(j.ours.b32)} | ${j.job === 'fp32' ? '1 / 1' : `${times(j.ours.b1)} / ${times(j.ours.b32)}`}` : '| | | | | ';
        const failed = label.startsWith('int8-') && r.engines[label.slice(5)] !== 'ok';
        const theirs = failed ? `| ${label}: ${cell(r.engines[label.slice(5)] ?? '')} | | |` : `| ${label} | ${pct(r.accuracy[label])} | ${ms(t(label, '1'))} / ${ms(t(label, '32'))} | ${j.job === 'fp32' ? '1 / 1' : `${times(t(label, '1'))} / ${times(t(label, '32'))}`} |`;
        rows.push(`${lead} ${theirs}`);
      });
    }
  }
  const torch = d.fixtures.find((f) => f.result)?.result?.torch ?? '?';
  return [
    '## Side by side with PyTorch',
    '',
    provenance(s),
    '',
    `PyTorch ${torch} (Debian \`python3-torch\`, dev only: never a dependency) runs the same architecture with the`,
    'fixture\'s own weights, read from the ONNX file (`test/bench/torch_baseline.py`; its fp32 accuracy matching the',
    'onnxruntime one is the check that the rebuild is faithful), on the same data: PTQ static int8 in FX graph mode',
    '(BatchNorm folded, default observers, the first 512 samples of `mnist-calib.npz`, as shrinkray\'s default) and',
    '`l1_unstructured` magnitude pruning of 50 % of every Conv/Linear weight (shrinkray: `--sparsity 0.5` on',
    'Conv/Gemm/MatMul, layer by layer). This torch build has **no FBGEMM**: int8 runs on the `onednn` (x86) and',
    '`qnnpack` engines, both shown. Latency: `torch.set_num_threads(1)`, same interleaving as above, in its own',
    'process; speed-ups are within one engine\'s own run (its fp32 ÷ its variant), so compare ratios across engines,',
    'not milliseconds measured minutes apart. Cells read "batch 1 / batch 32".',
    '',
    '| fixture | job | shrinkray top-1 | onnxruntime ms | speed-up | PyTorch | PyTorch top-1 | PyTorch ms | speed-up |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ];
}

function ioSection(s: Stored): string[] {
  const d = s.data as IoData;
  return [
    '## Large model: IO and quantize against cp',
    '',
    provenance(s),
    '',
    `The generated model (\`test/bench/big-model.ts\`: ${d.layers} fp32 MatMuls of ${d.dim}×${d.dim}, ${mib(d.layers * d.dim * d.dim * 4)} of weights). \`test/bench/io.ts\``,
    '(load + save in a child, byte-identical check) and `test/bench/quantize.ts` (load + dynamic int8 + save, library',
    'calls in a child) as they print, each timing `cp` in the same run.',
    '',
    ...d.benches.flatMap((b) => [`### \`${b.script}\`${b.status === 0 ? '' : ` (exit ${b.status}: a target missed or a failure)`}`, '', b.table || `no table: ${b.stderr}`, '']),
  ];
}

function cliSection(s: Stored): string[] {
  const d = s.data as CliData;
  const cp = Math.min(...d.cp.map((r) => r.seconds));
  const cpSync = Math.min(...d.cpSync.map((r) => r.seconds));
  return [
    '## Large model: every CLI command, default flags',
    '',
    s.incomplete
      ? `**Incomplete**: stopped part-way (last result ${s.finished.slice(0, 16).replace('T', ' ')} UTC); the commands below are those it finished. \`npm run bench -- --sections cli\` resumes it.`
      : provenance(s),
    '',
    `The same generated model (${mib(d.fileBytes)}). Each command is the built CLI (\`node bin/shrinkray.js\`) under`,
    '`/usr/bin/time -v` (peak RSS = its maximum resident set), after `sync` and a read of the model into the page',
    `cache; only required arguments unless noted. \`cp\` of the file: ${d.cp.map((r) => r.seconds.toFixed(2)).join(' s and ')} s, \`cp\` + sync`,
    `${d.cpSync.map((r) => r.seconds.toFixed(2)).join(' s and ')} s (${s.incomplete ? 'at the start of each sitting' : d.cp.length > 2 ? `at the start of each of ${d.cp.length - 1} sittings and at the end` : 'before and after the commands'}); ratios use the faster of each.`,
    '',
    '| command | exit | wall | ÷ cp | ÷ cp + sync | peak RSS | ÷ file | output | note |',
    '|---|---|---|---|---|---|---|---|---|',
    ...d.commands.map(
      (c) =>
        `| \`${cell(c.command.replace(/\S*matmul-\d+x\d+\.onnx/, 'big.onnx'))}\` | ${c.status ?? 'killed'} | ${c.seconds.toFixed(1)} s | ${(c.seconds / cp).toFixed(1)}× | ${(c.seconds / cpSync).toFixed(1)}× | ${mib(c.maxRssBytes)} | ${c.maxRssBytes ? (c.maxRssBytes / d.fileBytes).toFixed(2) : '—'}× | ${mib(c.outputBytes)} | ${cell([c.note, c.error].filter(Boolean).join('; '))} |`,
    ),
    '',
    ...d.skipped.map((x) => `- Not run: \`${x.command}\` — ${x.why}.`),
    '',
  ];
}

export function renderPage(stored: Record<string, Stored>): string {
  const fixtures = stored.fixtures?.data as FixturesData | undefined;
  const parts = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (`test/bench/run.ts`) from what it measured; do not edit by hand. Sections can be',
    'rerun alone (`npm run bench -- --sections fixtures,pytorch,io,cli`); each states when and under what load it ran.',
    'The large-model sections (io, cli; 1 GiB by default) need ~3 GiB of disk in the temp directory and run last.',
    '',
    ...(stored.fixtures ? fixturesSection(stored.fixtures) : []),
    ...(stored.pytorch ? pytorchSection(stored.pytorch, fixtures) : []),
    ...(stored.io ? ioSection(stored.io) : []),
    ...(stored.cli ? cliSection(stored.cli) : []),
  ];
  return `${parts.join('\n').trimEnd()}\n`;
}
