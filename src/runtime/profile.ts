/**
 * What onnxruntime actually runs and how fast: its per-node profile on seeded random inputs
 * at a given batch size and thread count, and the graph it runs after its own rewrites
 * (fusions, QDQ propagation, layout changes). The int8 quantizer places layers with these
 * (src/quant/int8/placement.ts). A model's cost is the sum of each node's median kernel time:
 * on a shared machine a stall hits one node of one run, not the median, so the sum is steadier
 * than wall time.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Model } from '../ir/model.ts';
import { loadModel } from '../io/load.ts';
import { modelToBytes } from '../io/save.ts';
import { mulberry32 } from '../math/random.ts';
import { planFeeds } from './feeds.ts';
import { createSession } from './ort.ts';

export interface ProfileOptions {
  /** Samples per run (the leading symbolic dim); default 32. */
  batch?: number;
  /** Intra-op threads; default 1. */
  threads?: number;
  /** Runs at least this many times …; default 20. */
  minRuns?: number;
  /** … and for at least this long (ms), up to maxRuns; default 200. */
  minMs?: number;
  /** Default 400. */
  maxRuns?: number;
  /** Sizes of symbolic dims other than the batch dim, by name. */
  dims?: Readonly<Record<string, number>>;
}

export interface NodeTime {
  /** onnxruntime's node name (its fused nodes are named after one of the nodes they replace). */
  name: string;
  op: string;
  /** Median kernel time per run, µs. */
  us: number;
}

export interface ModelProfile {
  /** Sum of the nodes' median kernel times, µs per run of `batch` samples. */
  totalUs: number;
  nodes: NodeTime[];
  runs: number;
  batch: number;
  threads: number;
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string };
}

const KERNEL = '_kernel_time';

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Per-node medians from onnxruntime's profile events. */
export function nodeTimes(events: readonly ProfileEvent[]): NodeTime[] {
  const byNode = new Map<string, { op: string; us: number[] }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith(KERNEL) || typeof e.dur !== 'number') continue;
    const name = e.name.slice(0, -KERNEL.length);
    let n = byNode.get(name);
    if (!n) byNode.set(name, (n = { op: e.args?.op_name ?? '', us: [] }));
    n.us.push(e.dur);
  }
  return [...byNode].map(([name, n]) => ({ name, op: n.op, us: median(n.us) }));
}

async function withTempDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'shrinkray-ort-'));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `model` with onnxruntime's profiler on and returns its per-node kernel times. */
export async function profileModel(model: Model | Uint8Array, opts: ProfileOptions = {}): Promise<ModelProfile> {
  const batch = opts.batch ?? 32;
  const threads = opts.threads ?? 1;
  const minRuns = opts.minRuns ?? 20;
  const minMs = opts.minMs ?? 200;
  const maxRuns = opts.maxRuns ?? 400;
  const bytes = model instanceof Uint8Array ? model : modelToBytes(model);
  return withTempDir(async (dir) => {
    const session = await createSession(bytes, { label: 'the model being profiled', threads, profilePrefix: join(dir, 'profile') });
    let runs = 0;
    let calls = 1;
    try {
      const plan = planFeeds(session, batch, mulberry32(1), opts.dims);
      calls = plan.calls;
      const feeds = Object.fromEntries(Object.entries(plan.feeds).map(([k, t]) => [k, session.tensor(t)]));
      const started = performance.now();
      while (runs < maxRuns && (runs < minRuns || performance.now() - started < minMs)) {
        for (let c = 0; c < calls; c++) await session.runOrt(feeds);
        runs++;
      }
      session.endProfiling();
    } finally {
      await session.close();
    }
    const file = (await readdir(dir)).find((f) => f.endsWith('.json'));
    const nodes = file ? nodeTimes(JSON.parse(await readFile(join(dir, file), 'utf8')) as ProfileEvent[]) : [];
    // A fixed leading dim takes `calls` runs per batch: each node's median is per call.
    return { totalUs: calls * nodes.reduce((s, n) => s + n.us, 0), nodes, runs, batch, threads };
  });
}

/** Op types (with their domain when not ONNX's) of the graph onnxruntime runs for `model`, counted. */
export async function optimizedOps(model: Model | Uint8Array, threads = 1): Promise<Map<string, number>> {
  const bytes = model instanceof Uint8Array ? model : modelToBytes(model);
  return withTempDir(async (dir) => {
    const path = join(dir, 'optimized.onnx');
    await (await createSession(bytes, { label: 'the model being optimized', threads, optimizedModelPath: path })).close();
    const ops = new Map<string, number>();
    for (const n of (await loadModel(await readFile(path))).graph.nodes) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
    return ops;
  });
}
