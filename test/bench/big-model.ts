/**
 * The generated large model the IO, quantize and CLI benchmarks share: a chain of `layers`
 * fp32 MatMuls with dim×dim initializers (16 × 4096² ≈ 1 GiB by default), uniform weights in
 * ±1/√dim from a seeded generator, so every run of every bench reads the same bytes.
 *
 *   npx tsx test/bench/big-model.ts <path.onnx> [--layers 16 --dim 4096]
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../../src/ir/builder.ts';
import { Tensor } from '../../src/ir/tensor.ts';
import { saveModel } from '../../src/io/save.ts';
import { mulberry32 } from '../../src/math/random.ts';
import { arg } from './args.ts';

/**
 * Writes the model without holding it: the weights go to a raw file 1 MiB at a time, then a
 * model whose initializers are lazy slices of that file is saved (copied through, inline).
 */
export async function generateMatMulChain(path: string, layers: number, dim: number): Promise<void> {
  const raw = `${path}.raw`;
  const fd = openSync(raw, 'w');
  const rng = mulberry32(7);
  const scale = 1 / Math.sqrt(dim);
  const piece = new Float32Array(256 * 1024);
  const total = layers * dim * dim;
  try {
    for (let done = 0; done < total; ) {
      const n = Math.min(piece.length, total - done);
      for (let i = 0; i < n; i++) piece[i] = (rng() * 2 - 1) * scale;
      writeSync(fd, new Uint8Array(piece.buffer, 0, n * 4));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  const b = new GraphBuilder('big', { opsets: { '': 17 } });
  let x = b.input('x', 'float32', ['N', dim]);
  const bytes = dim * dim * 4;
  for (let l = 0; l < layers; l++) {
    const name = `w${l}`;
    b.graph.addInitializer(new Tensor(name, 'float32', [dim, dim], { kind: 'raw', chunk: { path: raw, offset: l * bytes, length: bytes } }));
    [x] = b.node('MatMul', [x, name], {}, { name: `mm${l}` });
  }
  b.output(x!, 'float32', ['N', dim]);
  await saveModel(b.build(), path);
  rmSync(raw);
}

/** The model's path in `dir`, generated first when it is not there yet. */
export async function bigModel(dir: string, layers: number, dim: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `matmul-${layers}x${dim}.onnx`);
  if (!existsSync(path)) {
    process.stderr.write(`generating ${path} …\n`);
    const t = performance.now();
    await generateMatMulChain(path, layers, dim);
    process.stderr.write(`generated in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2];
  if (!path || path.startsWith('--')) throw new Error('usage: tsx test/bench/big-model.ts <path.onnx> [--layers 16 --dim 4096]');
  await generateMatMulChain(path, Number(arg('layers', '16')), Number(arg('dim', '4096')));
}
