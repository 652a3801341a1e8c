/**
 * Version adapters for the opset-7 change to broadcasting: before it, elementwise ops and
 * PRelu aligned a smaller operand from an axis (or the channel axis); from 7 they broadcast as
 * numpy does, from the right. Each gives the operand trailing 1-dims where that differs.
 */
import { Node } from '../ir/node.ts';
import type { VersionAdapter } from './version-adapters.ts';

/**
 * Before opset 7, Add/Mul/… broadcast only with `broadcast=1`, B's dims aligned with A's from
 * `axis` on (default: the trailing ones); from 7 they broadcast as numpy does, from the right.
 * B gets trailing 1-dims (an Unsqueeze) where `axis` placed it left of the end.
 */
export const legacyBroadcast: VersionAdapter = {
  what: 'broadcast/axis → numpy broadcasting',
  adapt(node, c) {
    const axis = node.getInt('axis');
    const changed = node.attr('broadcast') !== undefined || axis !== undefined;
    const broadcast = node.getInt('broadcast', 0) === 1;
    node.removeAttr('broadcast');
    node.removeAttr('axis');
    if (!broadcast || axis === undefined) return changed;
    const [rankA, rankB] = [0, 1].map((i) => c.type(node.inputs[i]!)?.shape?.length);
    if (rankA === undefined || rankB === undefined) throw c.refuse('broadcasting from an axis needs the ranks of both inputs, which are unknown');
    const trailing = rankA - axis - rankB;
    if (trailing <= 0) return true;
    const b = node.inputs[1]!;
    const aligned = c.fresh(`${b}_aligned`);
    node.inputs[1] = aligned;
    const unsqueeze = new Node('Unsqueeze', [b], [aligned], c.fresh(`${node.name || node.outputs[0]}_align`));
    unsqueeze.setAttr('axes', Array.from({ length: trailing }, (_, i) => rankB + i));
    return [unsqueeze, node];
  },
};

/**
 * PRelu-6 applied a slope of one value per channel ([C]) along axis 1; from 7 the slope
 * broadcasts as numpy does, from the right. onnx's converter calls the step compatible, and
 * onnxruntime then fails on an NCHW input: the slope gets trailing 1-dims ([C,1,1]) instead.
 */
export const preluSlope: VersionAdapter = {
  what: 'per-channel slope → numpy broadcasting',
  adapt(node, c) {
    const [x, slope] = node.inputs as [string, string];
    const dims = c.type(slope)?.shape ?? c.constant(slope)?.dims;
    if (dims?.length !== 1 || dims[0] === 1) return false;
    const rank = c.type(x)?.shape?.length;
    if (rank === undefined) throw c.refuse('a per-channel slope needs the rank of the input, which is unknown');
    if (rank <= 2) return false;
    const aligned = c.fresh(`${slope}_aligned`);
    node.inputs[1] = aligned;
    const unsqueeze = new Node('Unsqueeze', [slope], [aligned], c.fresh(`${node.name || node.outputs[0]}_align`));
    unsqueeze.setAttr('axes', Array.from({ length: rank - 2 }, (_, i) => 1 + i));
    return [unsqueeze, node];
  },
};
