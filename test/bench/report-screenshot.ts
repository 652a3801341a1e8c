/**
 * Dev check of the HTML report as a browser draws it: compresses the bundled LeNet-5 (cleanup,
 * static int8 with per-layer SQNR), writes report.html, and renders it with headless Chromium
 * to a PNG (no network; the page has no script to disable), timing the render.
 *
 *   apt-get install -y chromium
 *   npx tsx test/bench/report-screenshot.ts [--out /tmp/shrinkray-report] [--chromium /usr/bin/chromium] [--report existing.html]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { arg } from './args.ts';

const out = resolve(arg('out', '/tmp/shrinkray-report'));
const chromium = arg('chromium', '/usr/bin/chromium');
mkdirSync(out, { recursive: true });
let html = arg('report', '');
if (!html) {
  html = join(out, 'report.html');
  const code = await main([
    'compress', 'fixtures/lenet5.onnx', '-o', join(out, 'lenet5.int8.onnx'), '--passes', 'cleanup,quantize',
    '--set', 'quantize.calib=fixtures/data/mnist-calib.npz', '--set', 'quantize.debugLayers=true',
    '--data', 'fixtures/data/mnist-test.npz', '--max-accuracy-drop', '1', '--min-speedup', '1', '--max-size', '100KB',
    '--report', html, '--report', join(out, 'report.json'), '--quiet',
  ]);
  // A failed budget (exit 1) is fine here: it shows how the page draws a failure.
  if (code > 1) throw new Error(`compress exited ${code}`);
}
const png = join(out, 'report.png');
const start = performance.now();
execFileSync(chromium, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--hide-scrollbars', '--window-size=1200,3000', `--screenshot=${png}`, `file://${resolve(html)}`,
], { stdio: 'ignore' });
const seconds = (performance.now() - start) / 1000;
const text = readFileSync(html, 'utf8');
console.log(`${html}: ${statSync(html).size} bytes, ${(text.match(/<svg /g) ?? []).length} charts; rendered by Chromium in ${seconds.toFixed(2)} s (browser start included) → ${png} (${statSync(png).size} bytes)`);
