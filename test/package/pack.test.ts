/**
 * What `npm pack` ships, installed the way a user would: the tarball into an empty folder,
 * offline. The dependencies come from this checkout's node_modules (linked in beforehand, so
 * npm finds them satisfied and needs no registry), then `npx shrinkray` runs from there.
 * Needs dist/ (built by `npm test`'s pretest, or `npm run build`).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve('.');
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false' };

describe('package', () => {
  it('package: the tarball holds bin, dist, docs and README only, installs offline and runs inspect and a compression', { timeout: 120_000 }, async () => {
    expect(existsSync(join(root, 'dist/src/cli/main.js')), 'dist/ is missing: run npm run build').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'shrinkray-pack-'));
    // --ignore-scripts: dist is already built; prepack would rebuild it (tens of seconds).
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, env });
    const [packed] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[]; size: number }];
    const unexpected = packed.files.map((f) => f.path).filter((p) => !/^(package\.json|README\.md|bin\/shrinkray\.js|dist\/(src|passes)\/.*\.(js|d\.ts)|docs\/.*\.md)$/.test(p));
    expect(unexpected).toEqual([]);
    expect(packed.files.map((f) => f.path)).toContain('dist/src/report/html.js');

    const app = join(dir, 'app');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    for (const [key, entry] of Object.entries(lock.packages)) {
      const name = key.slice('node_modules/'.length);
      if (!key.startsWith('node_modules/') || entry.dev || name.includes('/node_modules/')) continue;
      mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true });
      symlinkSync(join(root, 'node_modules', name), join(app, 'node_modules', name));
    }
    await run('npm', ['install', '--offline', '--ignore-scripts', '--no-package-lock', join(dir, packed.filename)], { cwd: app, env });

    const inspect = await run('npx', ['--offline', 'shrinkray', 'inspect', join(root, 'fixtures/mlp.onnx'), '--json'], { cwd: app, env });
    expect(JSON.parse(inspect.stdout).params).toBe(266_612);
    const out = join(app, 'mlp.int8.onnx');
    const compress = await run('npx', ['--offline', 'shrinkray', 'compress', join(root, 'fixtures/mlp.onnx'), '-o', out, '--passes', 'cleanup,quantize', '--set', 'quantize.mode=dynamic', '--no-latency', '--json'], { cwd: app, env });
    expect(JSON.parse(compress.stdout).stages.at(-1).deltas.sizeRatio).toBeLessThan(0.3);
    expect(existsSync(out)).toBe(true);
  });
});
