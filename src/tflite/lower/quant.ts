/** QuantizeLinear / DequantizeLinear left standing after QDQ pairs are folded (e.g. an int8 graph output). */
import { PLAIN } from '../layout.ts';
import { problem, type Lowering } from './types.ts';

const quantize: Lowering = {
  check(node, ctx) {
    const s = ctx.constant(node.inputs[1]!);
    return s && s.data.length === 1 ? [] : [problem('unsupported-attribute', 'QuantizeLinear needs a constant per-tensor scale')];
  },
  lower(ctx) {
    const { e, node } = ctx;
    const scale = ctx.constant(1)!.data[0]!;
    const zpC = node.inputs[2] ? ctx.constant(2) : undefined;
    const zp = zpC?.data[0] ?? 0;
    const x = e.readAs(node.inputs[0]!, 'float', 'plain');
    const out = e.define(node.outputs[0]!, 'int8', PLAIN, { scale: [scale], zeroPoint: [zp] });
    e.emit('QUANTIZE', [x], [out]);
  },
};

const dequantize: Lowering = {
  lower(ctx) {
    const { e, node } = ctx;
    const x = e.readAs(node.inputs[0]!, 'int8', 'plain');
    e.emit('DEQUANTIZE', [x], [e.define(node.outputs[0]!, 'float', PLAIN)]);
  },
};

export const QUANT_LOWERINGS: Record<string, Lowering> = { QuantizeLinear: quantize, DequantizeLinear: dequantize };
