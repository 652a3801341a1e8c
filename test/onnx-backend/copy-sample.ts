/**
 * `npx tsx test/onnx-backend/copy-sample.ts` (dev machines with `apt-get install -y libonnx-testdata`)
 *
 * Copies a sample of ONNX's own backend test models (each model.onnx with its reference
 * inputs and outputs) into test/onnx-backend/, for the default suite: the cases that once
 * broke `compress --passes cleanup` with default flags — NaN outputs, shape and index inputs,
 * integer divisors, string and sequence inputs, native crashes of onnxruntime on random inputs,
 * an empty tensor written without a data field. The whole set (1 072 models) is
 * test/bench/onnx-backend.ts's job. ONNX test data: Copyright ONNX Project Contributors,
 * Debian's package lists it under the Expat (MIT) licence; see LICENSE here.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = '/usr/share/libonnx-testdata/data/node';
export const SAMPLE = [
  'test_log',
  'test_stft',
  'test_if_opt',
  'test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn',
  'test_nonmaxsuppression_center_point_box_format',
  'test_onehot_with_axis',
  'test_castlike_FLOAT_to_STRING',
  'test_div_uint8',
  'test_loop11',
  'test_blackmanwindow',
];

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const name of SAMPLE) {
    const to = join(import.meta.dirname, name);
    rmSync(to, { recursive: true, force: true });
    cpSync(join(ROOT, name), to, { recursive: true });
  }
  process.stdout.write(`copied ${SAMPLE.length} models into ${import.meta.dirname}\n`);
}
