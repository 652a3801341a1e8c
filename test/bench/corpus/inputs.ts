/**
 * Data-like inputs for the real-model benchmark, by the kind of data a model takes (the
 * manifest's `data`), never by model name:
 * - image: a scene of smooth gradients, shapes and sensor noise, normalised with ImageNet's mean/std;
 * - text-image: dark word-like strokes in lines on a light page (PaddleOCR det's normalisation);
 * - text-line: one line of such strokes, 48 pixels high, normalised to [-1, 1] (PaddleOCR rec/cls);
 * - speech: 16 kHz voiced sound — a wandering pitch with harmonics, syllable-rate envelope,
 *   noise bursts for fricatives — in [-1, 1];
 * - mel / embedding: that speech run through the corpus's own openWakeWord front end
 *   (melspectrogram, then the embedding model), as openWakeWord feeds its classifiers.
 * Besides the data input, float inputs (recurrent state) are zeros, and integer scalars of
 * speech models are the sample rate 16000.
 */
import type { HostTensor, ValueSpec } from '../../../src/runtime/types.ts';
import { createSession } from '../../../src/runtime/ort.ts';
import { mulberry32 } from '../../../src/math/random.ts';
import { type CorpusData, type CorpusModel, loadManifest, modelPath } from './corpus.ts';

const SAMPLE_RATE = 16000;

function gauss(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
}

/** `samples` samples of speech-like audio at 16 kHz. */
export function speech(samples: number, rng: () => number): Float32Array {
  const out = new Float32Array(samples);
  let phase = 0;
  const f0 = 100 + 120 * rng();
  const syllable = 3 + 3 * rng();
  for (let i = 0; i < samples; i++) {
    const t = i / SAMPLE_RATE;
    const pitch = f0 * (1 + 0.08 * Math.sin(2 * Math.PI * 0.7 * t));
    phase += (2 * Math.PI * pitch) / SAMPLE_RATE;
    const env = Math.max(0, Math.sin(Math.PI * syllable * t)) ** 2;
    let v = 0;
    for (let h = 1; h <= 12; h++) v += Math.sin(h * phase) / h ** 1.2 * (h === 3 || h === 7 ? 1.8 : 1);
    const fricative = Math.sin(Math.PI * syllable * t + 1.3) > 0.92 ? 0.15 * gauss(rng) : 0;
    out[i] = 0.12 * env * v + fricative + 0.003 * gauss(rng);
  }
  return out;
}

/** An RGB image [3, h, w] in 0..255 of the given kind. */
function picture(kind: 'scene' | 'page' | 'line', h: number, w: number, rng: () => number): Float32Array {
  const px = new Float32Array(3 * h * w);
  const set = (y: number, x: number, rgb: number[]) => {
    if (y < 0 || y >= h || x < 0 || x >= w) return;
    for (let c = 0; c < 3; c++) px[c * h * w + y * w + x] = rgb[c]!;
  };
  const base = kind === 'scene' ? [80 + 100 * rng(), 90 + 100 * rng(), 70 + 120 * rng()] : [225 + 25 * rng(), 225 + 25 * rng(), 220 + 25 * rng()];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) set(y, x, base.map((b, c) => b + (kind === 'scene' ? 60 * Math.sin((x + c * 50) / w * 3 + y / h * 2) : 0)));
  if (kind === 'scene') {
    for (let s = 0; s < 12; s++) {
      const [cy, cx, ry, rx] = [rng() * h, rng() * w, (0.05 + 0.2 * rng()) * h, (0.05 + 0.2 * rng()) * w];
      const color = [255 * rng(), 255 * rng(), 255 * rng()];
      for (let y = Math.floor(cy - ry); y < cy + ry; y++) for (let x = Math.floor(cx - rx); x < cx + rx; x++) if (((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 < 1) set(y, x, color);
    }
  } else {
    // Lines of "words": glyphs of vertical and horizontal strokes, dark ink.
    const lineHeight = kind === 'line' ? h : Math.max(16, Math.floor(h / (6 + 6 * rng())));
    const glyphH = Math.floor(lineHeight * 0.6);
    for (let top = Math.floor(lineHeight * 0.2); top + glyphH < h; top += lineHeight) {
      let x = Math.floor(4 + 10 * rng());
      while (x < w - glyphH) {
        const word = 2 + Math.floor(6 * rng());
        for (let g = 0; g < word && x < w - glyphH; g++) {
          const gw = Math.floor(glyphH * (0.5 + 0.3 * rng()));
          const ink = 20 + 40 * rng();
          for (let k = 0; k < 3; k++) {
            const vertical = rng() < 0.5;
            const at = Math.floor(rng() * (vertical ? gw : glyphH));
            const thick = Math.max(1, Math.floor(glyphH / 8));
            for (let t = 0; t < thick; t++) {
              if (vertical) for (let y = 0; y < glyphH; y++) set(top + y, x + at + t, [ink, ink, ink]);
              else for (let xx = 0; xx < gw; xx++) set(top + at + t, x + xx, [ink, ink, ink]);
            }
          }
          x += gw + Math.floor(glyphH * 0.15);
        }
        x += Math.floor(glyphH * 0.6);
      }
    }
  }
  for (let i = 0; i < px.length; i++) px[i] = Math.min(255, Math.max(0, px[i]! + 3 * gauss(rng)));
  return px;
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

function normalise(px: Float32Array, h: number, w: number, mean: number[], std: number[]): Float32Array {
  return px.map((v, i) => (v / 255 - mean[Math.floor(i / (h * w))]!) / std[Math.floor(i / (h * w))]!);
}

/** One sample (no batch dim) of the data input, shaped `dims` (without batch). */
async function sample(kind: CorpusData, dims: readonly number[], rng: () => number): Promise<Float32Array> {
  const size = dims.reduce((a, b) => a * b, 1);
  switch (kind) {
    case 'image':
    case 'text-image':
    case 'text-line': {
      const [, h, w] = dims as [number, number, number];
      const px = picture(kind === 'image' ? 'scene' : kind === 'text-image' ? 'page' : 'line', h, w, rng);
      return kind === 'text-line' ? normalise(px, h, w, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]) : normalise(px, h, w, IMAGENET.mean, IMAGENET.std);
    }
    case 'speech':
      return speech(size, rng);
    case 'mel': {
      const mel = await melFrames(dims[0]!, rng);
      return mel.subarray(0, size);
    }
    case 'embedding':
      return embeddings(dims[0]!, rng);
  }
}

let frontEnd: { mel: CorpusModel; embedding: CorpusModel } | undefined;
function openWakeWordFrontEnd(): { mel: CorpusModel; embedding: CorpusModel } {
  const all = loadManifest();
  frontEnd ??= { mel: all.find((m) => m.task.startsWith('audio front end'))!, embedding: all.find((m) => m.task === 'audio embedding CNN')! };
  return frontEnd;
}

/** `frames` mel frames [frames, 32], scaled as openWakeWord does (x / 10 + 2). */
async function melFrames(frames: number, rng: () => number): Promise<Float32Array> {
  const audio = speech((frames + 4) * 160 + 480, rng);
  const s = await createSession(modelPath(openWakeWordFrontEnd().mel), { threads: 1 });
  try {
    const out = Object.values(await s.run({ [s.inputs[0]!.name]: { dtype: 'float32', dims: [1, audio.length], data: audio } }))[0]!;
    const mel = (out.data as Float32Array).map((v) => v / 10 + 2);
    if (mel.length < frames * 32) throw new Error(`melspectrogram gave ${mel.length / 32} frames, ${frames} needed`);
    return mel.subarray(0, frames * 32);
  } finally {
    await s.close();
  }
}

/** `count` consecutive 96-d speech embeddings (76-frame windows, 8 frames apart). */
async function embeddings(count: number, rng: () => number): Promise<Float32Array> {
  const mel = await melFrames(76 + 8 * (count - 1), rng);
  const s = await createSession(modelPath(openWakeWordFrontEnd().embedding), { threads: 1 });
  try {
    const windows = new Float32Array(count * 76 * 32);
    for (let k = 0; k < count; k++) windows.set(mel.subarray(k * 8 * 32, (k * 8 + 76) * 32), k * 76 * 32);
    const out = Object.values(await s.run({ [s.inputs[0]!.name]: { dtype: 'float32', dims: [count, 76, 32, 1], data: windows } }))[0]!;
    return out.data as Float32Array;
  } finally {
    await s.close();
  }
}

/** The shape of an input for `batch` samples: manifest shapes, else declared; a free leading dim takes `batch`. */
export function inputShape(m: CorpusModel, spec: ValueSpec, batch: number): number[] {
  const given = m.shapes.find((s) => s.startsWith(`${spec.name}:`));
  const dims = given ? given.slice(spec.name.length + 1).split(',').map(Number) : spec.shape!.map((d) => (typeof d === 'number' ? d : 1));
  return dims.map((d, axis) => (axis === 0 && typeof spec.shape![0] !== 'number' ? batch : d));
}

/** The data input: the float input with the most values per sample. */
export function dataInput(m: CorpusModel, inputs: readonly ValueSpec[]): ValueSpec {
  const floats = inputs.filter((s) => s.dtype === 'float32');
  const size = (s: ValueSpec) => inputShape(m, s, 1).reduce((a, b) => a * b, 1);
  return floats.reduce((best, s) => (size(s) > size(best) ? s : best), floats[0]!);
}

/** Whether every input's leading dim is free: a batch of N is one call, else N calls of one. */
export function batchable(inputs: readonly ValueSpec[]): boolean {
  return inputs.every((s) => s.shape !== undefined && s.shape.length > 0 && typeof s.shape[0] !== 'number');
}

/** Data-like feeds for `batch` samples (seeded). */
export async function feeds(m: CorpusModel, inputs: readonly ValueSpec[], batch: number, seed: number): Promise<Record<string, HostTensor>> {
  const rng = mulberry32(seed);
  const data = dataInput(m, inputs);
  const out: Record<string, HostTensor> = {};
  for (const spec of inputs) {
    const dims = inputShape(m, spec, batch);
    const size = dims.reduce((a, b) => a * b, 1);
    if (spec === data) {
      const rows = typeof spec.shape![0] === 'number' ? 1 : batch;
      const values = new Float32Array(size);
      const per = size / rows;
      for (let r = 0; r < rows; r++) values.set(await sample(m.data, dims.slice(1), rng), r * per);
      out[spec.name] = { dtype: 'float32', dims, data: values };
    } else if (spec.dtype === 'int64') out[spec.name] = { dtype: 'int64', dims, data: new BigInt64Array(size).fill(BigInt(SAMPLE_RATE)) };
    else if (spec.dtype === 'float32') out[spec.name] = { dtype: 'float32', dims, data: new Float32Array(size) };
    else throw new Error(`${m.id}: no data-like value for input ${spec.name} (${spec.dtype})`);
  }
  return out;
}
