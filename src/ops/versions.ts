/**
 * How each default-domain op changed across opsets, for the opset upgrade: the versions at
 * which its schema changed (from onnx's op definitions, generated/onnx-versions.ts), which
 * of those steps onnx's own version_converter declares compatible, and this project's
 * adapters (./version-adapters.ts) for the steps that change an op's spelling or meaning.
 * A step with neither an adapter nor a compatible mark cannot be taken.
 */
import { COMPATIBLE_STEPS, NEWEST_OPSET, SINCE_VERSIONS } from './generated/onnx-versions.ts';
import { VERSION_ADAPTERS, type VersionAdapter } from './version-adapters.ts';

export { NEWEST_OPSET };
export type { AdaptContext, VersionAdapter } from './version-adapters.ts';

/** The smallest IR version each opset needs (onnx's helper.VERSION_TABLE), by the opset that raised it. */
const IR_FOR_OPSET: readonly (readonly [opset: number, ir: number])[] = [[21, 10], [19, 9], [15, 8], [12, 7], [11, 6], [10, 5], [9, 4], [7, 3]];

export function minIrVersion(opset: number): number {
  return IR_FOR_OPSET.find(([o]) => opset >= o)?.[1] ?? 3;
}

/** The versions at which `op`'s schema changed, or undefined for an op onnx does not define. */
export function sinceVersions(op: string): readonly number[] | undefined {
  return Object.hasOwn(SINCE_VERSIONS, op) ? SINCE_VERSIONS[op] : undefined;
}

/**
 * What taking `op` into version `v` (one of its since-versions) takes: an adapter,
 * 'compatible' (nothing to change), or undefined (no known way).
 */
export function versionStep(op: string, v: number): VersionAdapter | 'compatible' | undefined {
  const adapter = VERSION_ADAPTERS[op]?.[v];
  if (adapter) return adapter;
  return COMPATIBLE_STEPS[op]?.includes(v) ? 'compatible' : undefined;
}

// An adapter keyed by a version at which its op did not change would never run.
const stray = Object.entries(VERSION_ADAPTERS).flatMap(([op, byVersion]) =>
  Object.keys(byVersion)
    .map(Number)
    .filter((v) => !sinceVersions(op)?.includes(v))
    .map((v) => `${op}@${v}`),
);
if (stray.length) throw new Error(`version adapters for steps at which the op did not change: ${stray.join(', ')}`);
