import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnx from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/load.ts';
import { modelToBytes, saveModel } from '../../src/io/save.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { ATTR, FLOAT, ONNX, concat, f, float32Bytes, handModel, model, node, rawTensor, unknownFields, valueInfo } from '../helpers/proto.ts';

const P = onnx.onnx;
const FIXTURES = join(import.meta.dirname, 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'shrinkray-io-rt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;

/** Load from bytes + modelToBytes, and load from a file + saveModel: both must give `bytes` back. */
async function roundTrips(bytes: Uint8Array): Promise<{ inMemory: Uint8Array; viaFile: Uint8Array }> {
  const inMemory = modelToBytes(await loadModel(bytes));
  const src = join(dir, `in-${counter}.onnx`);
  const dst = join(dir, `out-${counter++}.onnx`);
  writeFileSync(src, bytes);
  await saveModel(await loadModel(src), dst);
  return { inMemory, viaFile: new Uint8Array(readFileSync(dst)) };
}

/** Length and first differing byte (with context), so a failure shows where the bytes part. */
function difference(got: Uint8Array, want: Uint8Array) {
  let at = 0;
  while (at < got.length && at < want.length && got[at] === want[at]) at++;
  if (at === got.length && at === want.length) return { length: got.length, firstDiff: -1 };
  const around = (b: Uint8Array) => Buffer.from(b.subarray(Math.max(0, at - 8), at + 24)).toString('hex');
  return { length: got.length, firstDiff: at, got: around(got), want: around(want) };
}

async function expectIdentical(bytes: Uint8Array): Promise<void> {
  const { inMemory, viaFile } = await roundTrips(bytes);
  expect(difference(inMemory, bytes)).toEqual({ length: bytes.length, firstDiff: -1 });
  expect(difference(viaFile, bytes)).toEqual({ length: bytes.length, firstDiff: -1 });
}

/** onnx-proto (ONNX 1.10 schema, protobufjs) decoded and re-encoded. */
function viaOnnxProto(bytes: Uint8Array): Uint8Array {
  return P.ModelProto.encode(P.ModelProto.decode(bytes)).finish();
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) >= 0;
}

describe('io: lossless round trip', () => {
  it('io: a model written by onnx python comes back byte for byte', async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'python-model.onnx')));
    await expectIdentical(bytes);
    // The fixture really carries what the test is about.
    const m = await loadModel(bytes);
    expect(m.proto.functions).toHaveLength(1);
    expect(m.proto.training_info).toHaveLength(1);
    expect(m.proto.metadata_props).toHaveLength(2);
    const iff = m.graph.nodes.find((n) => n.opType === 'If')!;
    expect([...(iff.attr('then_branch')!.value as Graph).initializers.keys()]).toEqual(['then_w']);
    expect([...(iff.attr('else_branch')!.value as Graph).initializers.keys()]).toEqual(['else_w']);
    expect(iff.subgraphs().flatMap((g) => g.nodes.map((n) => n.opType))).toEqual(['Constant', 'Add', 'Mul', 'Constant', 'Add', 'Mul']);
  });

  it('io: an explicit data_location DEFAULT (onnx writes it after inlining external data) survives', async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'python-reloaded.onnx')));
    expect(P.ModelProto.decode(bytes).graph!.initializer![0]!.dataLocation).toBe(0);
    await expectIdentical(bytes);
  });

  it('io: a model onnx-proto (protobufjs) wrote, with packed dims, comes back byte for byte', async () => {
    const bytes = P.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'packed',
        node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'], name: 'add' }],
        initializer: [{ name: 'w', dataType: FLOAT, dims: [2, 3], floatData: [1, 2, 3, 4, 5, 6] }],
        input: [{ name: 'x', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 2 }, { dimValue: 3 }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 2 }, { dimValue: 3 }] } } } }],
      },
    }).finish();
    // dims = 1, packed: tag 0x0a, length 2, then 2 and 3.
    expect(contains(bytes, Uint8Array.of(0x0a, 0x02, 0x02, 0x03))).toBe(true);
    await expectIdentical(bytes);
  });

  it('io: an empty tensor written with no data field (a Constant of shape [0]) comes back without an empty raw_data', async () => {
    // ONNX's test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn has one (its empty roi).
    const empty = concat(f.unpacked(ONNX.tensor.dims, [0]), f.varint(ONNX.tensor.data_type, FLOAT));
    const constant = node('Constant', [], ['roi'], 'roi_const', f.message(ONNX.node.attribute, f.len(ONNX.attr.name, 'value'), f.message(ONNX.attr.t, empty), f.varint(ONNX.attr.type, ATTR.TENSOR)));
    const bytes = model([f.message(ONNX.graph.node, constant), f.len(ONNX.graph.name, 'g'), f.message(ONNX.graph.output, valueInfo('roi', FLOAT, [0]))]);
    await expectIdentical(bytes);
    // A tensor that gets values later is written with them.
    const m = await loadModel(bytes);
    const t = m.graph.nodes[0]!.attr('value')!.value as import('../../src/ir/tensor.ts').Tensor;
    expect(t.byteLength).toBe(0);
  });

  it('io: a hand-encoded model without extra fields round-trips (baseline for the cases below)', async () => {
    await expectIdentical(handModel({}));
  });

  for (const level of ['model', 'graph', 'node', 'tensor', 'attribute', 'valueInfo', 'opset', 'entry'] as const) {
    it(`io: unknown fields (varint, LEN, fixed32, fixed64) inside a ${level} survive byte for byte`, async () => {
      const extra = unknownFields(level.length);
      const bytes = handModel({ [level]: extra });
      await expectIdentical(bytes);
      // onnx-proto, like any generated decoder, loses them; we do not.
      const theirs = viaOnnxProto(bytes);
      expect(theirs.byteLength).toBeLessThan(bytes.byteLength);
      expect(contains(theirs, extra)).toBe(false);
      expect(contains(modelToBytes(await loadModel(bytes)), extra)).toBe(true);
    });
  }

  it('io: unknown fields before, between and after known ones keep their positions', async () => {
    const u = (n: number) => f.len(2000 + n, `u${n}`);
    const bytes = concat(
      u(1),
      f.varint(ONNX.model.ir_version, 8),
      u(2),
      f.message(
        ONNX.model.graph,
        u(3),
        f.message(ONNX.graph.node, u(4), node('Relu', ['x'], ['y'], 'r'), u(5)),
        u(6),
        f.message(ONNX.graph.input, valueInfo('x', FLOAT, [1])),
        f.message(ONNX.graph.output, valueInfo('y', FLOAT, [1])),
        u(7),
      ),
      u(8),
      f.message(ONNX.model.opset_import, f.varint(ONNX.opset.version, 17)),
      u(9),
    );
    await expectIdentical(bytes);
  });

  it('io: metadata_props, functions (25) and training_info (20) survive, wherever the writer put them', async () => {
    const fn = concat(f.len(1, 'Twice'), f.len(10, 'local'), f.len(4, 'a'), f.len(5, 'b'), f.message(7, node('Add', ['a', 'a'], ['b'], 'n')));
    // TrainingInfoProto { algorithm (2): GraphProto { node, name } }
    const training = f.message(2, f.message(1, node('Identity', ['x'], ['x2'], 'step')), f.len(2, 'algo'));
    // Not in field-number order: functions first, training_info before metadata_props.
    const bytes = concat(
      f.message(ONNX.model.functions, fn),
      f.message(ONNX.model.functions, fn),
      model(
        [f.message(ONNX.graph.node, node('Relu', ['x'], ['y'], 'r')), f.message(ONNX.graph.input, valueInfo('x', FLOAT, [1])), f.message(ONNX.graph.output, valueInfo('y', FLOAT, [1]))],
        f.message(ONNX.model.training_info, training),
        f.message(ONNX.model.metadata_props, f.len(1, 'author'), f.len(2, 'me')),
        f.message(ONNX.model.metadata_props, f.len(1, 'license'), f.len(2, 'MIT')),
      ),
    );
    await expectIdentical(bytes);
    const m = await loadModel(bytes);
    expect(m.proto.functions).toHaveLength(2);
    expect(m.proto.training_info).toHaveLength(1);
    // onnx-proto (an independent decoder) still sees them in our output.
    const decoded = P.ModelProto.decode(modelToBytes(m));
    expect(decoded.metadataProps.map((e) => e.key)).toEqual(['author', 'license']);
    expect(decoded.functions.map((fp) => fp.name)).toEqual(['Twice', 'Twice']);
    expect(decoded.trainingInfo[0]!.algorithm!.name).toBe('algo');
  });

  it('io: INT4, UINT4, FLOAT8 (17–20) and FLOAT4E2M1 tensors with raw_data round-trip with the right dtype and bytes', async () => {
    const types = [
      { code: 17, dtype: 'float8e4m3fn', count: 3, bytes: 3 },
      { code: 18, dtype: 'float8e4m3fnuz', count: 3, bytes: 3 },
      { code: 19, dtype: 'float8e5m2', count: 3, bytes: 3 },
      { code: 20, dtype: 'float8e5m2fnuz', count: 3, bytes: 3 },
      { code: 21, dtype: 'uint4', count: 5, bytes: 3 },
      { code: 22, dtype: 'int4', count: 5, bytes: 3 },
      { code: 23, dtype: 'float4e2m1', count: 5, bytes: 3 },
    ];
    const inits = types.map((t, i) =>
      f.message(ONNX.graph.initializer, rawTensor(`t${t.code}`, t.code, [t.count], Uint8Array.from({ length: t.bytes }, (_, j) => 0x10 * i + j + 0x81))),
    );
    const bytes = model([f.message(ONNX.graph.node, node('Relu', ['x'], ['y'], 'r')), ...inits, f.message(ONNX.graph.input, valueInfo('x', FLOAT, [1])), f.message(ONNX.graph.output, valueInfo('y', FLOAT, [1]))]);
    await expectIdentical(bytes);
    const m = await loadModel(bytes);
    types.forEach((t, i) => {
      const tensor = m.graph.initializers.get(`t${t.code}`)!;
      expect(tensor.dtype).toBe(t.dtype);
      expect(tensor.dims).toEqual([t.count]);
      expect([...tensor.bytes()]).toEqual(Array.from({ length: t.bytes }, (_, j) => 0x10 * i + j + 0x81));
    });
    // A raw_data length that does not match the shape is refused (2 values of int4 need 1 byte, not 3).
    const bad = model([f.message(ONNX.graph.initializer, rawTensor('w', 22, [2], Uint8Array.of(1, 2, 3)))]);
    await expect(loadModel(bad)).rejects.toThrow(/tensor 'w' has 3 bytes of raw_data but shape \[2\] of int4 needs 1/);
  });

  it('io: nested subgraphs (If branches with initializers, Constant nodes and unknown fields) round-trip', async () => {
    const branch = (name: string, seed: number) =>
      concat(
        f.message(
          ONNX.graph.node,
          node('Constant', [], [`${name}_c`], `${name}_const`, f.message(ONNX.node.attribute, f.len(ONNX.attr.name, 'value'), f.message(ONNX.attr.t, rawTensor('', FLOAT, [1], float32Bytes([seed]), unknownFields(seed))), f.varint(ONNX.attr.type, ATTR.TENSOR))),
        ),
        f.message(ONNX.graph.node, node('Add', [`${name}_c`, `${name}_w`], [`${name}_y`], `${name}_add`, unknownFields(seed + 1))),
        f.len(ONNX.graph.name, name),
        f.message(ONNX.graph.initializer, rawTensor(`${name}_w`, FLOAT, [1], float32Bytes([seed * 2]))),
        f.message(ONNX.graph.output, valueInfo(`${name}_y`, FLOAT, [1])),
        unknownFields(seed + 2),
      );
    const graphAttr = (name: string, g: Uint8Array) => f.message(ONNX.node.attribute, f.len(ONNX.attr.name, name), f.message(ONNX.attr.g, g), f.varint(ONNX.attr.type, ATTR.GRAPH));
    // The else branch itself holds an If: two levels of nesting.
    const inner = concat(
      f.message(ONNX.graph.node, node('If', ['c'], ['else_y'], 'inner_if', graphAttr('then_branch', branch('inner_then', 5)), graphAttr('else_branch', branch('inner_else', 7)))),
      f.len(ONNX.graph.name, 'else'),
      f.message(ONNX.graph.output, valueInfo('else_y', FLOAT, [1])),
    );
    const bytes = model([
      f.message(ONNX.graph.node, node('If', ['c'], ['y'], 'if', graphAttr('then_branch', branch('then', 1)), graphAttr('else_branch', inner))),
      f.message(ONNX.graph.input, valueInfo('c', 9, [])),
      f.message(ONNX.graph.output, valueInfo('y', FLOAT, [1])),
    ]);
    await expectIdentical(bytes);
    const m = await loadModel(bytes);
    const [then, els] = m.graph.nodes[0]!.subgraphs() as [Graph, Graph];
    expect(then.initializers.get('then_w')!.typed()).toEqual(Float32Array.of(2));
    expect(then.nodes[0]!.getTensor('value')!.typed()).toEqual(Float32Array.of(1));
    expect([...m.graph.walk()].map((g) => g.name)).toEqual(['', 'then', 'else', 'inner_then', 'inner_else']);
    expect(els.nodes[0]!.subgraphs()[1]!.initializers.get('inner_else_w')!.typed()).toEqual(Float32Array.of(14));
  });

  it('io: packed and unpacked repeated fields each come back as they were written', async () => {
    const ints = [-1, 0, 7, 300];
    const attrInts = (name: string, packed: boolean) =>
      f.message(ONNX.node.attribute, f.len(ONNX.attr.name, name), packed ? f.packed(ONNX.attr.ints, ints) : f.unpacked(ONNX.attr.ints, ints), f.varint(ONNX.attr.type, ATTR.INTS));
    const attrFloats = (name: string, packed: boolean) =>
      f.message(
        ONNX.node.attribute,
        f.len(ONNX.attr.name, name),
        packed ? f.len(ONNX.attr.floats, float32Bytes([0.5, -2])) : concat(f.float(ONNX.attr.floats, 0.5), f.float(ONNX.attr.floats, -2)),
        f.varint(ONNX.attr.type, 6),
      );
    const tensor = (name: string, dims: Uint8Array) =>
      f.message(ONNX.graph.initializer, dims, f.varint(ONNX.tensor.data_type, FLOAT), f.len(ONNX.tensor.name, name), f.len(ONNX.tensor.float_data, float32Bytes([1, 2, 3, 4, 5, 6])));
    const bytes = model([
      f.message(ONNX.graph.node, node('Custom', ['x'], ['y'], 'n', attrInts('packed', true), attrInts('unpacked', false), attrFloats('fpacked', true), attrFloats('funpacked', false))),
      tensor('dims_packed', f.packed(ONNX.tensor.dims, [2, 3])),
      tensor('dims_unpacked', f.unpacked(ONNX.tensor.dims, [2, 3])),
      f.message(ONNX.graph.input, valueInfo('x', FLOAT, [1])),
      f.message(ONNX.graph.output, valueInfo('y', FLOAT, [1])),
    ]);
    await expectIdentical(bytes);
    const m = await loadModel(bytes);
    const n = m.graph.nodes[0]!;
    expect(n.getInts('packed')).toEqual(ints);
    expect(n.getInts('unpacked')).toEqual(ints);
    expect(n.attr('funpacked')!.value).toEqual([0.5, -2]);
    expect(m.graph.initializers.get('dims_packed')!.dims).toEqual([2, 3]);
    expect(m.graph.initializers.get('dims_unpacked')!.typed()).toEqual(Float32Array.of(1, 2, 3, 4, 5, 6));
  });

  it('io: float_data and int64_data written unpacked (one tag per value) come back the same', async () => {
    const floats = concat(...[1.5, -2, 3].map((v) => f.float(ONNX.tensor.float_data, v)));
    const longs = f.unpacked(ONNX.tensor.int64_data, [-1, 2n ** 63n - 1n, 5]);
    const bytes = model([
      f.message(ONNX.graph.initializer, f.unpacked(ONNX.tensor.dims, [3]), f.varint(ONNX.tensor.data_type, FLOAT), f.len(ONNX.tensor.name, 'f'), floats),
      f.message(ONNX.graph.initializer, f.unpacked(ONNX.tensor.dims, [3]), f.varint(ONNX.tensor.data_type, 7), f.len(ONNX.tensor.name, 'l'), longs),
    ]);
    await expectIdentical(bytes);
    const m = await loadModel(bytes);
    expect(m.graph.initializers.get('f')!.typed()).toEqual(Float32Array.of(1.5, -2, 3));
    expect(m.graph.initializers.get('l')!.typed()).toEqual(BigInt64Array.of(-1n, 2n ** 63n - 1n, 5n));
  });

  it('io: int64 attribute values (INT64_MAX, INT64_MIN, negatives, above 2^53) keep every bit', async () => {
    const MAX = 2n ** 63n - 1n;
    const MIN = -(2n ** 63n);
    const intAttr = (name: string, v: number | bigint) => f.message(ONNX.node.attribute, f.len(ONNX.attr.name, name), f.varint(ONNX.attr.i, v), f.varint(ONNX.attr.type, ATTR.INT));
    const bytes = model([
      f.message(
        ONNX.graph.node,
        node(
          'Slice',
          ['x'],
          ['y'],
          's',
          intAttr('max', MAX),
          intAttr('min', MIN),
          intAttr('neg', -3),
          intAttr('big', 2n ** 53n + 1n),
          f.message(ONNX.node.attribute, f.len(ONNX.attr.name, 'list'), f.unpacked(ONNX.attr.ints, [MAX, -1, MIN, 0]), f.varint(ONNX.attr.type, ATTR.INTS)),
        ),
      ),
    ]);
    await expectIdentical(bytes);
    const n = (await loadModel(bytes)).graph.nodes[0]!;
    expect(n.attr('max')!.value).toBe(MAX);
    expect(n.attr('min')!.value).toBe(MIN);
    expect(n.attr('neg')!.value).toBe(-3);
    expect(n.attr('big')!.value).toBe(2n ** 53n + 1n);
    expect(n.attr('list')!.value).toEqual([MAX, -1, MIN, 0]);
    // Re-set by a pass (so re-encoded from values, not replayed): still the same bytes.
    const m = await loadModel(bytes);
    const s = m.graph.nodes[0]!;
    s.setAttr('max', MAX);
    s.setAttr('min', MIN);
    s.setAttr('neg', -3);
    expect(Buffer.from(modelToBytes(m)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('io: a model larger than the read window, with lazy tensors, round-trips from a file byte for byte', async () => {
    // 3 tensors of 2.5 MB (lazy: ≥ 64 KB) and one of 100 bytes, with unknown fields around them.
    const big = (name: string, seed: number) => {
      const raw = new Uint8Array(2_500_000);
      for (let i = 0; i < raw.length; i++) raw[i] = (i * 31 + seed) & 0xff;
      return f.message(ONNX.graph.initializer, rawTensor(name, 2, [raw.length], raw, unknownFields(seed)));
    };
    const bytes = model(
      [big('a', 1), f.message(ONNX.graph.initializer, rawTensor('small', 2, [100], new Uint8Array(100).fill(9))), big('b', 2), big('c', 4), unknownFields(3)],
      unknownFields(5),
    );
    expect(bytes.byteLength).toBeGreaterThan(4 * 1024 * 1024 + 1);
    const src = join(dir, 'big.onnx');
    writeFileSync(src, bytes);
    const m = await loadModel(src);
    expect(m.graph.initializers.get('a')!.isLazy).toBe(true);
    expect(m.graph.initializers.get('small')!.isLazy).toBe(false);
    expect(m.graph.initializers.get('c')!.bytes()[12345]).toBe((12345 * 31 + 4) & 0xff);
    await expectIdentical(bytes);
  });

  it('io: a tensor replaced by a pass is written from its new values, its other fields kept', async () => {
    const bytes = handModel({ tensor: unknownFields(4) });
    const m = await loadModel(bytes);
    m.graph.initializers.get('b')!.setTyped(Float32Array.of(7, 8, 9));
    const out = modelToBytes(m);
    expect(contains(out, unknownFields(4))).toBe(true);
    const back = await loadModel(out);
    expect(back.graph.initializers.get('b')!.typed()).toEqual(Float32Array.of(7, 8, 9));
  });
});
