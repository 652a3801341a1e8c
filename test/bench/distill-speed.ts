/**
 * Distillation throughput beside PyTorch, interleaved: rounds alternate one epoch of
 * shrinkray's `distill` (wasm, one thread) and one epoch of the same loop in PyTorch
 * (test/bench/distill_torch.py: same student widths, data, batch, Adam, cosine, KD loss,
 * teacher logits cached in both), so both see the same machine load. Prints each round's
 * samples per wall-clock second and per CPU second (process time: on a shared machine the
 * wall clock mostly measures the other jobs), the load average, the ratios and their medians.
 *
 *   npx tsx test/bench/distill-speed.ts --rounds 5 [--threads 1] [--batch 64]
 *
 * Dev only: needs Debian's python3-torch (`/usr/bin/python3`).
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { passes } from '../../passes/index.ts';
import { loadSamples } from '../../src/distill/data.ts';
import { distill } from '../../src/distill/distill.ts';
import { Teacher } from '../../src/distill/teacher.ts';
import { loadModel } from '../../src/io/load.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { arg } from './args.ts';

const ROUNDS = Number(arg('rounds', '5'));
const BATCH = Number(arg('batch', '64'));
const THREADS = arg('threads', '1');
const DATA = 'fixtures/data/mnist-train.npz';

const teacherModel = await loadModel('fixtures/lenet5.onnx');
const student = teacherModel.clone();
await runPipeline(student, [{ pass: passes.prune!, options: { channels: 0.5, verify: false } }]);
// The pruned widths, read from the student itself: conv1, conv2, fc1, fc2 output channels.
const widths = ['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight'].map((n) => {
  const t = student.graph.initializers.get(n);
  if (!t) throw new Error(`the pruned lenet5 has no ${n}`);
  return t.dims[0]!;
});
const train = await loadSamples(DATA);
const teacher = await Teacher.open(teacherModel);

interface Speed {
  wall: number;
  cpu: number;
}

async function ours(seed: number): Promise<Speed> {
  const cpu = process.cpuUsage();
  const r = await distill(student.clone(), teacher, train, undefined, {
    epochs: 1, batchSize: BATCH, optimizer: 'adam', learningRate: 0.01, momentum: 0.9, weightDecay: 0, schedule: 'cosine',
    stepEpochs: 1, gamma: 0.1, warmupEpochs: 0, temperature: 4, alpha: 0.9, seed, maxShift: 0, patience: 0, hints: [], hintWeight: 0, quantAware: false, recalibrateBn: false,
  });
  // The run's CPU time includes the teacher's one pass over the data (cached logits) and
  // the setup, which PyTorch's figure leaves out: it counts against shrinkray.
  const used = process.cpuUsage(cpu);
  const samples = Math.floor(train.length / BATCH) * BATCH;
  return { wall: r.samplesPerSecond, cpu: samples / ((used.user + used.system) / 1e6) };
}

function pytorch(seed: number): Speed {
  const out = execFileSync('/usr/bin/python3', ['test/bench/distill_torch.py', '--data', DATA, '--widths', widths.join(','), '--epochs', '1', '--batch', String(BATCH), '--threads', THREADS, '--seed', String(seed)], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { samplesPerSecond: number; samplesPerCpuSecond: number };
  return { wall: r.samplesPerSecond, cpu: r.samplesPerCpuSecond };
}

const ratios: { wall: number; cpu: number }[] = [];
console.log(`student widths ${widths.join('/')}, batch ${BATCH}, PyTorch threads ${THREADS}, shrinkray wasm 1 thread`);
for (let round = 1; round <= ROUNDS; round++) {
  const load = loadavg()[0]!.toFixed(1);
  // Alternate which engine goes first, so neither always meets the same moment.
  let mine: Speed;
  let torch: Speed;
  if (round % 2) {
    mine = await ours(round);
    torch = pytorch(round);
  } else {
    torch = pytorch(round);
    mine = await ours(round);
  }
  const ratio = { wall: mine.wall / torch.wall, cpu: mine.cpu / torch.cpu };
  ratios.push(ratio);
  console.log(
    `round ${round}: load ${load}→${loadavg()[0]!.toFixed(1)} | samples/s shrinkray ${mine.wall.toFixed(0)}, PyTorch ${torch.wall.toFixed(0)}, ratio ${ratio.wall.toFixed(2)} | per CPU second shrinkray ${mine.cpu.toFixed(0)}, PyTorch ${torch.cpu.toFixed(0)}, ratio ${ratio.cpu.toFixed(2)}`,
  );
}
await teacher.close();
const summary = (v: number[]) => {
  const sorted = [...v].sort((x, y) => x - y);
  return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} (min ${sorted[0]!.toFixed(2)}, max ${sorted.at(-1)!.toFixed(2)})`;
};
console.log(`SUMMARY shrinkray/PyTorch over ${ROUNDS} rounds: wall clock ${summary(ratios.map((r) => r.wall))}; per CPU second ${summary(ratios.map((r) => r.cpu))}`);
