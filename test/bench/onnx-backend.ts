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
import { tensorFromProto } from '../../src/io/from-proto.ts';
import { decodeMessage } from '../../src/onnx/codec.ts';
import { Tensor as TensorDesc } from '../../src/onnx/schema.ts';
import { MemorySource } from '../../src/onnx/source.ts';
import { Reader } from '../../src/onnx/wire.ts';
import { arg } from './args.ts';

const root = arg('root', '/usr/share/libonnx-testdata/data');
const outFile = arg('out', 'tmp/backend.jsonl');
const scratch = mkdtempSync(join(tmpdir(), 'shrinkray-backend-'));

const ORT_TYPE: Record<string, ort.Tensor.Type> = {
  float32: 'float32', float64: 'float64', int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16', int32: 'int32',
  uint32: 'uint32', int64: 'int64', uint64: 'uint64', bool: 'bool', float16: 'float16', string: 'string',
};

/** A TensorProto file as an onnxruntime tensor (throws for sequences, optionals and odd dtypes). */
function readTensor(path: string): { name: string; tensor: ort.Tensor } {
  const bytes = new Uint8Array(readFileSync(path));
  const proto = decodeMessage(new Reader(new MemorySource(bytes), 0, bytes.length), TensorDesc);
  const t = tensorFromProto(proto, { resolveExternal: () => { throw new Error('external'); }, checkRange() {} });
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new Error(`dtype ${t.dtype}`);
  const data = t.payload.kind === 'strings' ? t.payload.values.map((v) => new TextDecoder().decode(v as Uint8Array)) : t.typed();
  return { name: t.name, tensor: new ort.Tensor(type, data as never, t.dims) };
}

function close(a: ort.Tensor, b: ort.Tensor): boolean {
  if (a.type !== b.type || a.dims.join() !== b.dims.join()) return false;
  const x = a.data as ArrayLike<number | bigint | string>;
  const y = b.data as ArrayLike<number | bigint | string>;
  for (let i = 0; i < x.length; i++) {
    if (typeof x[i] !== 'number') {
      if (x[i] !== y[i]) return false;
      continue;
    }
    const [p, q] = [x[i] as number, y[i] as number];
    if (Number.isNaN(p) && Number.isNaN(q)) continue;
    if (p === q) continue;
    if (!(Math.abs(p - q) <= 1e-5 + 1e-3 * Math.abs(q))) return false;
  }
  return true;
}

async function ortOutcome(dir: string): Promise<string> {
  const data = join(dir, 'test_data_set_0');
  if (!existsSync(data)) return 'no-test-data';
  let inputs: Array<{ name: string; tensor: ort.Tensor }>;
  let outputs: Array<{ name: string; tensor: ort.Tensor }>;
  try {
    const files = readdirSync(data).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    inputs = files.filter((f) => f.startsWith('input_')).map((f) => readTensor(join(data, f)));
    outputs = files.filter((f) => f.startsWith('output_')).map((f) => readTensor(join(data, f)));
  } catch {
    return 'non-tensor-io';
  }
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
