/** Resampling of spatial axes (Resize, Upsample, GridSample, RoiAlign) and the DFT. */
import type { TensorType } from '../ir/value.ts';
import type { InferContext, OpSpec } from './types.ts';

function constNumbers(ctx: InferContext, i: number): number[] | undefined {
  const t = ctx.constant(i);
  return t && t.size > 0 ? Array.from(t.typed() as ArrayLike<number | bigint>, Number) : undefined;
}

/** Each axis scaled and floored, or set to `sizes` (the ONNX formula without a crop region). */
function resized(x: TensorType | undefined, scales: number[] | undefined, sizes: number[] | undefined): TensorType[] {
  const rank = x?.shape?.length;
  if (sizes && sizes.length === rank) return [{ dtype: x!.dtype, shape: sizes }];
  if (!scales || scales.length !== rank) return [{ dtype: x?.dtype, shape: undefined }];
  return [{ dtype: x!.dtype, shape: x!.shape!.map((d, i) => (typeof d === 'number' ? Math.floor(d * scales[i]!) : undefined)) }];
}

/** Resize-10 takes (X, scales); from opset 11 on (X, roi, scales, sizes). */
function inferResize(ctx: InferContext): TensorType[] {
  const { node } = ctx;
  // Axes subsets, aspect-ratio policies and crop-and-resize change the formula: not inferred.
  const simple = !node.attr('axes') && node.getString('keep_aspect_ratio_policy', 'stretch') === 'stretch' && node.getString('coordinate_transformation_mode', '') !== 'tf_crop_and_resize';
  if (!simple) return [{ dtype: ctx.inputs[0]?.dtype, shape: undefined }];
  if (ctx.opset < 11) return resized(ctx.inputs[0], constNumbers(ctx, 1), undefined);
  return resized(ctx.inputs[0], constNumbers(ctx, 2), constNumbers(ctx, 3));
}

/** Upsample-7 has a `scales` attribute, later versions a scales input. */
function inferUpsample(ctx: InferContext): TensorType[] {
  const scales = (ctx.node.attr('scales')?.value as number[] | undefined) ?? constNumbers(ctx, 1);
  return resized(ctx.inputs[0], scales, undefined);
}

export const RESAMPLE_OPS: OpSpec[] = [
  { op: 'Resize', domain: '', category: 'resample', infer: inferResize, foldable: true, channels: 'resize' },
  { op: 'Upsample', domain: '', category: 'resample', infer: inferUpsample, foldable: true, channels: 'upsample' },
  { op: 'GridSample', domain: '', category: 'resample', foldable: true },
  { op: 'RoiAlign', domain: '', category: 'resample', foldable: true },
  { op: 'DFT', domain: '', category: 'signal', foldable: true },
];
