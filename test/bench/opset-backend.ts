/**
 * `npm run bench:opset -- [--root /usr/share/libonnx-testdata/data] [--target 13] [--out tmp/opset-backend.jsonl] [--no-reference]`
 *
 * Dev check, not in the suite (needs `apt-get install -y libonnx-testdata python3-onnx`): every
 * ONNX backend test model older than `--target` goes through the opset converter
 * (src/transforms/upgrade-opset.ts); the converted model runs in onnxruntime on the model's
 * test_data_set_0 inputs and is compared with its reference outputs (the suite's tolerance).
 * A model onnxruntime gets wrong as it is is left out; one it cannot load as it is (a kernel it
 * dropped, such as Add-6) is counted apart, checked after conversion. As a reference,
 * onnx's own `onnx.version_converter` (python3-onnx) converts the same model and its result is
 * run the same way. One JSON line per model, then counts per outcome.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ShrinkrayError } from '../../src/errors.ts';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { upgradeOpset } from '../../src/transforms/upgrade-opset.ts';
import { arg, flag } from './args.ts';
import { close, testData, type TestData } from './onnx-testdata.ts';

const root = arg('root', '/usr/share/libonnx-testdata/data');
const target = Number(arg('target', '13'));
const outFile = arg('out', 'tmp/opset-backend.jsonl');
const scratch = mkdtempSync(join(tmpdir(), 'shrinkray-opset-'));

/** Runs a model (path or bytes) on the test inputs: 'match', 'mismatch', or why it did not run. */
async function outcome(model: string | Uint8Array, data: TestData): Promise<{ result: 'match' | 'mismatch' | 'rejected' | 'run-fails'; message?: string }> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model as Uint8Array, { logSeverityLevel: 4 });
  } catch (err) {
    return { result: 'rejected', message: (err as Error).message.split('\n')[0] };
  }
  try {
    const feeds = Object.fromEntries(session.inputNames.map((n, i) => [n, data.inputs[i]!.tensor]));
    const got = await session.run(feeds);
    return { result: session.outputNames.every((n, i) => data.outputs[i] && close(got[n]!, data.outputs[i]!.tensor)) ? 'match' : 'mismatch' };
  } catch (err) {
    return { result: 'run-fails', message: (err as Error).message.split('\n')[0] };
  } finally {
    await session.release();
  }
}

/** Ours: converted & outputs match / mismatch / refused with a message / converted but onnxruntime rejects it. */
async function ours(path: string, data: TestData) {
  const model = await loadModel(path);
  try {
    upgradeOpset(model, target);
  } catch (err) {
    if (err instanceof ShrinkrayError) return { result: 'refused', message: err.message };
    return { result: 'crashed', message: (err as Error).message };
  }
  return outcome(modelToBytes(model), data);
}

/** onnx's version_converter on the same model, run the same way. */
async function reference(path: string, data: TestData) {
  const out = join(scratch, 'reference.onnx');
  const script = 'import sys, onnx, onnx.version_converter as vc\nonnx.save(vc.convert_version(onnx.load(sys.argv[1]), int(sys.argv[2])), sys.argv[3])';
  const r = spawnSync('/usr/bin/python3', ['-c', script, path, String(target), out], { encoding: 'utf8' });
  if (r.status !== 0) return { result: 'refused', message: r.stderr.trim().split('\n').at(-1) };
  try {
    return await outcome(out, data);
  } finally {
    rmSync(out, { force: true });
  }
}

const dirs = readdirSync(root)
  .flatMap((suite) => readdirSync(join(root, suite)).map((m) => join(root, suite, m)))
  .filter((d) => existsSync(join(d, 'model.onnx')));
writeFileSync(outFile, '');
const counts: Record<string, Record<string, number>> = { ours: {}, onnx: {}, skipped: {} };
const count = (table: string, key: string) => (counts[table]![key] = (counts[table]![key] ?? 0) + 1);
for (const dir of dirs) {
  const path = join(dir, 'model.onnx');
  const model = dir.slice(root.length + 1);
  const from = (await loadModel(path)).opsets.get('') ?? 0;
  if (from >= target || from === 0) continue;
  const data = testData(dir);
  if (typeof data === 'string') {
    count('skipped', data);
    continue;
  }
  // The reference outputs come with the data; a model onnxruntime cannot load as it is (kernels
  // it dropped, e.g. Add-6) is still checked after conversion against them.
  const original = await outcome(path, data);
  if (original.result !== 'match' && original.result !== 'rejected') {
    count('skipped', `original ${original.result}`);
    appendFileSync(outFile, JSON.stringify({ model, from, original }) + '\n');
    continue;
  }
  const mine = await ours(path, data);
  const theirs = flag('no-reference') ? undefined : await reference(path, data);
  const group = `${from < 7 ? 'opset<7 ' : ''}${original.result === 'rejected' ? 'original rejected, converted: ' : ''}`;
  count('ours', `${group}${mine.result}`);
  if (theirs) count('onnx', `${group}${theirs.result}`);
  appendFileSync(outFile, JSON.stringify({ model, from, original, ours: mine, onnx: theirs }) + '\n');
}
rmSync(scratch, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ target, counts }, null, 2) + '\n');
