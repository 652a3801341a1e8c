/**
 * `npm run build && npx tsx test/bench/onnx-backend.ts [--root /usr/share/libonnx-testdata/data] [--out tmp/backend.jsonl] [--shard k/n]`
 *
 * Dev check, not in the suite (needs `apt-get install -y libonnx-testdata`): for every ONNX
 * backend test model, does onnxruntime run it correctly (test_data_set_0 inputs → expected
 * outputs, rtol 1e-3 / atol 1e-5, NaN equal to NaN), and does `compress --passes cleanup`
 * with default flags (verification and latency on) exit 0 on it? One JSON line per model
 * (with the report's latency outcome: timed, slower, not measured), then counts per outcome.
 * `compress` runs as the CLI does (bin/shrinkray.js, built: its child processes for
 * verification and latency start as plain node). The reference check runs in this process: a native
 * crash there ends the run; run it again with --resume and the model it was on is recorded as
 * `crash` and skipped.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { spawnSync } from 'node:child_process';
import { arg } from './args.ts';
import { close, testData } from './onnx-testdata.ts';

const root = arg('root', '/usr/share/libonnx-testdata/data');
const outFile = arg('out', 'tmp/backend.jsonl');
const scratch = mkdtempSync(join(tmpdir(), 'shrinkray-backend-'));

async function ortOutcome(dir: string): Promise<string> {
  const data = testData(dir);
  if (typeof data === 'string') return data;
  const { inputs, outputs } = data;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(join(dir, 'model.onnx'), { logSeverityLevel: 4 });
  } catch {
    return 'ort-rejects';
  }
  try {
    const feeds = Object.fromEntries(session.inputNames.map((n, i) => [n, inputs[i]!.tensor]));
    const got = await session.run(feeds);
    return session.outputNames.every((n, i) => outputs[i] && close(got[n]!, outputs[i]!.tensor)) ? 'ort-ok' : 'ort-wrong';
  } catch {
    return 'ort-run-fails';
  } finally {
    await session.release();
  }
}

/** What the report says about latency: timed, slower (a warning), or not measured (a note). */
function latencyOutcome(reportJson: string): string | undefined {
  if (!reportJson) return undefined;
  const notes = (JSON.parse(reportJson) as { notes: string[] }).notes;
  if (notes.some((n) => n.startsWith('latency not measured'))) return 'not-measured';
  return notes.some((n) => n.startsWith('warning:') && n.includes(' is slower than ')) ? 'slower' : 'timed';
}

/** `shrinkray compress <model> --passes cleanup --json`, default flags otherwise. */
function compressOutcome(model: string): { code: number; signal?: string; message?: string; latency?: string; notMeasured?: string } {
  const output = join(scratch, 'out.onnx');
  const r = spawnSync(process.execPath, ['bin/shrinkray.js', 'compress', model, '-o', output, '--passes', 'cleanup', '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  rmSync(output, { force: true });
  const code = r.status ?? -1;
  const latency = code === 0 ? latencyOutcome(r.stdout) : undefined;
  const notMeasured = latency === 'not-measured' ? (JSON.parse(r.stdout) as { notes: string[] }).notes.find((n) => n.startsWith('latency not measured')) : undefined;
  const message = r.stderr.trim().split('\n').find((l) => l.startsWith('shrinkray:'));
  return { code, ...(r.signal && { signal: r.signal }), ...(message && { message }), ...(latency && { latency }), ...(notMeasured && { notMeasured }) };
}

const resume = process.argv.includes('--resume');
// `--shard k/n`: every n-th model from the k-th (0-based), to run n processes side by side.
const [shard, shards] = arg('shard', '0/1').split('/').map(Number) as [number, number];
const dirs = readdirSync(root)
  .flatMap((suite) => readdirSync(join(root, suite)).map((m) => join(root, suite, m)))
  .filter((d) => existsSync(join(d, 'model.onnx')))
  .filter((_, i) => i % shards === shard);
const done = new Map<string, { ort: string; code: number }>();
if (resume && existsSync(outFile)) {
  for (const line of readFileSync(outFile, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as { model: string; started?: boolean; ort: string; code: number };
    if (r.started) done.set(r.model, { ort: 'crash', code: -1 });
    else done.set(r.model, r);
  }
  for (const [model, r] of done) if (r.ort === 'crash') appendFileSync(outFile, JSON.stringify({ model, ort: 'crash', code: -1 }) + '\n');
} else writeFileSync(outFile, '');
const counts: Record<string, number> = {};
for (const [i, dir] of dirs.entries()) {
  const model = dir.slice(root.length + 1);
  const before = done.get(model);
  if (before) {
    counts[`${before.ort} / exit ${before.code}`] = (counts[`${before.ort} / exit ${before.code}`] ?? 0) + 1;
    continue;
  }
  appendFileSync(outFile, JSON.stringify({ model, started: true }) + '\n');
  const ortResult = await ortOutcome(dir);
  const c = compressOutcome(join(dir, 'model.onnx'));
  const key = `${ortResult} / exit ${c.code}${c.latency ? ` / latency ${c.latency}` : ''}`;
  counts[key] = (counts[key] ?? 0) + 1;
  appendFileSync(outFile, JSON.stringify({ model, ort: ortResult, ...c }) + '\n');
  if ((i + 1) % 100 === 0) process.stdout.write(`${i + 1}/${dirs.length}\n`);
}
rmSync(scratch, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ models: dirs.length, counts }, null, 2) + '\n');
