/**
 * `npx tsx test/bench/onnx-roundtrip.ts [--root /usr/share/libonnx-testdata/data]`
 *
 * Dev check, not in the suite (needs `apt-get install -y libonnx-testdata`): every ONNX
 * backend test model read and written again by shrinkray's IO comes back byte for byte. Prints
 * the count and every model that does not, with the first differing byte.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { arg } from './args.ts';

const root = arg('root', '/usr/share/libonnx-testdata/data');
const files = readdirSync(root)
  .flatMap((suite) => readdirSync(join(root, suite)).map((m) => join(root, suite, m, 'model.onnx')))
  .filter((f) => existsSync(f));
let same = 0;
const differ: string[] = [];
for (const file of files) {
  const before = new Uint8Array(readFileSync(file));
  const after = modelToBytes(await loadModel(before));
  let i = 0;
  while (i < before.length && before[i] === after[i]) i++;
  if (i === before.length && after.length === before.length) same++;
  else differ.push(`${file.slice(root.length + 1)}: ${before.length} → ${after.length} bytes, first difference at byte ${i}`);
}
process.stdout.write(`${same} of ${files.length} models byte-identical after load and save\n${differ.join('\n')}\n`);
