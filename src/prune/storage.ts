/**
 * Sparse storage: for each initializer with zeros, both encodings are measured — the dense
 * TensorProto and a SparseTensorProto (non-zero values + int64 linear indices) — and the
 * smaller one is kept, on disk ('auto') or after gzip ('gzip'). onnxruntime densifies
 * sparse initializers when it loads the model, so only the file changes.
 */
import { gzipSync } from 'node:zlib';
import type { Model } from '../ir/model.ts';
import type { Tensor } from '../ir/tensor.ts';
import { encodeMessage, type ProtoMessage } from '../onnx/codec.ts';
import { chunkLength, readChunk } from '../onnx/chunk.ts';
import { TYPED_ARRAY } from '../onnx/dtype.ts';
import { SparseTensor as SparseDesc, Tensor as TensorDesc, type MessageDesc } from '../onnx/schema.ts';
import { toSparseProto } from '../io/sparse.ts';
import { tensorToProto } from '../io/to-proto.ts';
import { GZIP_LEVEL } from '../report/size.ts';
import type { StorageChoice } from './types.ts';

/** Sparse initializers need IR version 6 (ONNX 1.6). */
export const SPARSE_MIN_IR = 6;

function encoded(p: ProtoMessage, desc: MessageDesc): Uint8Array[] {
  return encodeMessage(p, desc).finish().map(readChunk);
}

const total = (parts: readonly Uint8Array[]) => parts.reduce((n, p) => n + chunkLength(p), 0);

function gzipped(parts: readonly Uint8Array[]): number {
  return gzipSync(Buffer.concat(parts), { level: GZIP_LEVEL }).length;
}

/** Both encodings of one tensor, measured. */
export function measureTensor(t: Tensor, gzip: boolean): Omit<StorageChoice, 'chosen'> & { sparse: ProtoMessage } {
  const sparse = toSparseProto(t);
  const denseParts = encoded(tensorToProto(t, () => undefined), TensorDesc);
  const sparseParts = encoded(sparse, SparseDesc);
  return {
    tensor: t.name,
    denseBytes: total(denseParts),
    sparseBytes: total(sparseParts),
    ...(gzip && { denseGzip: gzipped(denseParts), sparseGzip: gzipped(sparseParts) }),
    sparse,
  };
}

/**
 * Moves each initializer (of the main graph and of every If/Loop/Scan body) whose sparse
 * encoding is smaller (on disk, or after gzip) to its graph's `sparse_initializer`. Returns
 * every decision made; tensors without zeros are not listed.
 */
export function applySparseStorage(model: Model, objective: 'auto' | 'gzip'): StorageChoice[] {
  const choices: StorageChoice[] = [];
  for (const g of model.graph.walk()) {
    const inputs = new Set(g.inputs.map((v) => v.name));
    for (const t of [...g.initializers.values()]) {
      if (!(t.dtype in TYPED_ARRAY) || t.payload.kind === 'strings' || inputs.has(t.name) || t.size < 2) continue;
      if (t.zeroCount() === 0) continue;
      const m = measureTensor(t, objective === 'gzip');
      const sparseWins = objective === 'gzip' ? m.sparseGzip! < m.denseGzip! : m.sparseBytes < m.denseBytes;
      const { sparse, ...sizes } = m;
      choices.push({ ...sizes, chosen: sparseWins ? 'sparse' : 'dense' });
      if (sparseWins) {
        g.sparseInitializers.push(sparse);
        g.initializers.delete(t.name);
      }
    }
  }
  return choices;
}
