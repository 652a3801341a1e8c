import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes } from '../../src/io/save.ts';
import { cli } from '../helpers/cli.ts';
import { SAMPLE } from './copy-sample.ts';

const dir = mkdtempSync(join(tmpdir(), 'shrinkray-backend-sample-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ONNX's own test models (a sample; test/bench/onnx-backend.ts runs all 1 072): each comes back
// byte for byte, and `compress --passes cleanup` with default flags (verification and latency
// on) exits 0 on it, whatever random inputs do to onnxruntime (a native crash is a note).
describe('ONNX backend test models: a sample', () => {
  for (const name of SAMPLE) {
    const model = join(import.meta.dirname, name, 'model.onnx');
    it(`${name}: byte-identical round trip, and compress --passes cleanup exits 0 with default flags`, async () => {
      const bytes = new Uint8Array(readFileSync(model));
      expect(Buffer.from(modelToBytes(await loadModel(bytes))).equals(Buffer.from(bytes))).toBe(true);
      const out = join(dir, `${name}.onnx`);
      const r = await cli('compress', model, '-o', out, '--passes', 'cleanup', '--quiet');
      // A "slower" warning may stand on stderr (timings on a loaded machine); an error may not.
      expect({ code: r.code, errors: r.err.split('\n').filter((l) => l.startsWith('shrinkray:')) }).toEqual({ code: 0, errors: [] });
      expect(existsSync(out)).toBe(true);
    });
  }
});
