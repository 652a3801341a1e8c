/**
 * `npm run bench:quantize`: a generated ~1 GB fp32 MatMul model quantized to int8 (dynamic)
 * by a child process, timed against `cp` of the same file, with the child's peak RSS.
 *
 *   npm run bench:quantize [-- --layers 16 --dim 4096 --runs 3 --dir /tmp/shrinkray-bench --keep]
 *
 * Targets (issue 4): time ≤ 3 × cp, peak RSS ≤ 1.3 × the input size. Each run times `cp`
 * right before the quantizer (the machine may be shared), and the table gives the median
 * run. `cp` does not fsync its copy while saveModel does, so `cp` + fsync is shown too.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/io/load.ts';
import { saveModel } from '../../src/io/save.ts';
import { quantizeModel } from '../../src/quant/int8/quantize.ts';
import { arg } from './args.ts';
import { bigModel } from './big-model.ts';

const self = fileURLToPath(import.meta.url);


/** Time of `cp` (page cache warm, as for the quantizer; best of three), and of `cp` followed by fsync of the copy. */
function cpSeconds(src: string, dst: string): { cp: number; cpSync: number } {
  const time = (args: string[]) => {
    const t = performance.now();
    const r = spawnSync(args[0]!, args.slice(1));
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
    return (performance.now() - t) / 1000;
  };
  // The fastest of three: the conservative baseline for the ratio.
  let cp = Infinity;
  for (let i = 0; i < 3; i++) {
    cp = Math.min(cp, time(['cp', src, dst]));
    rmSync(dst);
  }
  const cpSync = time(['sh', '-c', `cp "$0" "$1" && sync "$1"`, src, dst]);
  rmSync(dst);
  return { cp, cpSync };
}

async function child(input: string, output: string): Promise<void> {
  const t0 = performance.now();
  const model = await loadModel(input);
  const t1 = performance.now();
  const result = await quantizeModel(model, { mode: 'dynamic' });
  const t2 = performance.now();
  await saveModel(model, output);
  const t3 = performance.now();
  const usage = process.resourceUsage();
  process.stdout.write(
    JSON.stringify({ load: (t1 - t0) / 1000, quantize: (t2 - t1) / 1000, save: (t3 - t2) / 1000, maxRssBytes: usage.maxRSS * 1024, quantized: result.quantized.length }) + '\n',
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === 'child') return child(process.argv[3]!, process.argv[4]!);
  const layers = Number(arg('layers', '16'));
  const dim = Number(arg('dim', '4096'));
  const dir = arg('dir', join(tmpdir(), 'shrinkray-bench'));
  const input = await bigModel(dir, layers, dim);
  const output = join(dir, `matmul-${layers}x${dim}.int8.onnx`);
  const inBytes = statSync(input).size;
  const runs = Number(arg('runs', '3'));
  type Run = { cp: number; cpSync: number; wall: number; load: number; quantize: number; save: number; maxRssBytes: number; quantized: number; outBytes: number };
  const results: Run[] = [];
  for (let i = 0; i < runs; i++) {
    rmSync(output, { force: true });
    const warm = () => spawnSync('cat', [input], { stdio: ['ignore', 'ignore', 'ignore'] }); // page cache warm for both
    warm();
    const { cp, cpSync } = cpSeconds(input, join(dir, 'cp-copy.onnx'));
    spawnSync('sync'); // cp's dirty pages must not be flushed on the quantizer's fsync
    warm();
    const t = performance.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, 'child', input, output], { encoding: 'utf8' });
    const wall = (performance.now() - t) / 1000;
    if (r.status !== 0) throw new Error(`quantizer failed:\n${r.stderr}`);
    const c = JSON.parse(r.stdout.trim().split('\n').pop()!) as Omit<Run, 'cp' | 'cpSync' | 'wall' | 'outBytes'>;
    results.push({ ...c, cp, cpSync, wall, outBytes: statSync(output).size });
  }
  const work = (r: Run) => r.load + r.quantize + r.save;
  const median = [...results].sort((a, b) => work(a) / a.cp - work(b) / b.cp)[Math.floor(results.length / 2)]!;
  const m = median;
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const rows = [
    ['input', `${mb(inBytes)} (${layers} MatMul ${dim}×${dim} fp32)`],
    ['output', `${mb(m.outBytes)} (${(m.outBytes / inBytes).toFixed(3)}× input), ${m.quantized} MatMuls int8 (dynamic)`],
    ['cp of the input (same run)', `${m.cp.toFixed(2)} s; cp + fsync ${m.cpSync.toFixed(2)} s`],
    ['load + quantize + check + save', `${work(m).toFixed(2)} s = ${(work(m) / m.cp).toFixed(2)}× cp, ${(work(m) / m.cpSync).toFixed(2)}× cp + fsync`],
    ['… of which', `load ${m.load.toFixed(2)} s, quantize incl. runtime check ${m.quantize.toFixed(2)} s, save (with fsync) ${m.save.toFixed(2)} s`],
    ['child wall time (incl. node + tsx start)', `${m.wall.toFixed(2)} s = ${(m.wall / m.cp).toFixed(2)}× cp`],
    ['peak RSS of the child', `${mb(m.maxRssBytes)} = ${(m.maxRssBytes / inBytes).toFixed(2)}× input`],
    ['all runs (work ÷ cp)', results.map((r) => `${(work(r) / r.cp).toFixed(2)}×`).join(', ')],
  ];
  process.stdout.write(`| measure | median of ${runs} runs |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n`);
  if (!process.argv.includes('--keep')) rmSync(output, { force: true });
}

await main();
