/** Resize (2-D, NHWC): RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR, for the coordinate modes TFLite has. */
import type { Node } from '../../ir/node.ts';
import { NHWC } from '../layout.ts';
import { problem, type Lowering } from './types.ts';

/** [align_corners, half_pixel_centers] for the ONNX modes TFLite reproduces, or a reason it cannot. */
export function resizeFlags(node: Node): [boolean, boolean] | string {
  const mode = node.getString('mode', 'nearest');
  const ctm = node.getString('coordinate_transformation_mode', 'half_pixel');
  if (mode === 'linear') {
    if (ctm === 'align_corners') return [true, false];
    if (ctm === 'asymmetric') return [false, false];
    if (ctm === 'half_pixel' || ctm === 'pytorch_half_pixel') return [false, true];
    return `linear Resize with coordinate_transformation_mode ${ctm}`;
  }
  if (mode === 'nearest') {
    const nearest = node.getString('nearest_mode', 'round_prefer_floor');
    if (ctm === 'asymmetric' && nearest === 'floor') return [false, false];
    if ((ctm === 'half_pixel' || ctm === 'pytorch_half_pixel') && nearest === 'round_prefer_ceil') return [false, true];
    return `nearest Resize with coordinate_transformation_mode ${ctm} and nearest_mode ${nearest}`;
  }
  return `Resize mode ${mode}`;
}

/** The output shape of a Resize from its constant sizes or scales. */
export function resizeShape(node: Node, input: readonly number[], constant: (name: string) => { data: Float32Array } | undefined): number[] | undefined {
  const sizes = node.inputs[3] ? constant(node.inputs[3]) : undefined;
  if (sizes && sizes.data.length === input.length) return Array.from(sizes.data);
  const scales = node.inputs[2] ? constant(node.inputs[2]) : undefined;
  if (scales && scales.data.length === input.length) return input.map((d, i) => Math.floor(d * scales.data[i]!));
  return undefined;
}

const resize: Lowering = {
  check(node, ctx) {
    const x = ctx.shape(node.inputs[0]!);
    const out = ctx.shape(node.outputs[0]!);
    if (!x || x.length !== 4) return [problem('unsupported-attribute', 'only 2-D (rank-4) Resize')];
    if (!out) return [problem('non-constant-weight', 'Resize scales/sizes must be constants')];
    if (out[0] !== x[0] || out[1] !== x[1]) return [problem('unsupported-attribute', 'Resize of the batch or channel dimension')];
    const flags = resizeFlags(node);
    return typeof flags === 'string' ? [problem('unsupported-attribute', flags)] : [];
  },
  lower(ctx) {
    const { e, node, mode } = ctx;
    const [align, half] = resizeFlags(node) as [boolean, boolean];
    const shape = e.shapeOf(node.outputs[0]!);
    const x = e.readAs(node.inputs[0]!, mode, 'nhwc');
    const size = e.int32Const('size', [shape[2]!, shape[3]!]);
    const out = e.define(node.outputs[0]!, mode, NHWC, mode === 'int8' ? e.qparams.get(node.inputs[0]!) : undefined);
    const linear = node.getString('mode', 'nearest') === 'linear';
    const fields = [
      { slot: linear ? 2 : 0, kind: 'bool' as const, value: align },
      { slot: linear ? 3 : 1, kind: 'bool' as const, value: half },
    ];
    if (linear) e.emit('RESIZE_BILINEAR', [x, size], [out], { name: 'ResizeBilinearOptions', fields }, { halfPixelCenters: half, alignCorners: align });
    else e.emit('RESIZE_NEAREST_NEIGHBOR', [x, size], [out], { name: 'ResizeNearestNeighborOptions', fields }, { halfPixelCenters: half, alignCorners: align });
  },
};

export const RESIZE_LOWERINGS: Record<string, Lowering> = { Resize: resize };
