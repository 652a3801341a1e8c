/**
 * The real-model corpus (issue 10): the manifest's entries, typed, and where the fetched
 * models live. The cache directory is `$SHRINKRAY_CORPUS_DIR`, else `.cache/corpus` in the
 * repository (git-ignored).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What data-like inputs the benchmark feeds a model (see real.ts). */
export type CorpusData = 'image' | 'text-image' | 'text-line' | 'speech' | 'mel' | 'embedding';

export interface CorpusModel {
  /** File name in the cache: `<id>.onnx`. */
  id: string;
  package: string;
  version: string;
  /** The model's path inside the npm tarball. */
  path?: string;
  /** A model split into chunks: a JSON index inside the tarball, and the key of the model in it. */
  chunks?: { index: string; key: string };
  sha256: string;
  bytes: number;
  licence: string;
  task: string;
  exporter: string;
  opset: number;
  traits: string[];
  data: CorpusData;
  /** `NAME:D1,D2,...` for inputs with free dims (the benchmark passes them as `--input-shape`). */
  shapes: string[];
  /** Too slow on two cores for every command: the benchmark runs a reduced set. */
  heavy?: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');

export function corpusDir(): string {
  return process.env.SHRINKRAY_CORPUS_DIR || join(repoRoot, '.cache/corpus');
}

export function modelPath(m: CorpusModel): string {
  return join(corpusDir(), `${m.id}.onnx`);
}

export function loadManifest(): CorpusModel[] {
  const raw = JSON.parse(readFileSync(join(here, 'manifest.json'), 'utf8')) as { models: CorpusModel[] };
  for (const m of raw.models) {
    if (!m.path === !m.chunks) throw new Error(`manifest: ${m.id} needs exactly one of "path" and "chunks"`);
    if (!/^[0-9a-f]{64}$/.test(m.sha256)) throw new Error(`manifest: ${m.id} has no sha256`);
  }
  return raw.models;
}
