import { describe, expect, it } from 'vitest';
import { fromHalfBits, toHalf, toHalfBits } from '../../src/math/float16.ts';

// Bit patterns from the IEEE 754 binary16 tables.
describe('runtime/f16', () => {
  it('f16: exact values map to their known bit patterns and back', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
      [2 ** -14, 0x0400], [2 ** -24, 0x0001], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ];
    for (const [v, bits] of cases) {
      expect(toHalfBits(v)).toBe(bits);
      expect(fromHalfBits(bits)).toBe(v);
    }
    expect(Object.is(fromHalfBits(toHalfBits(-0)), -0)).toBe(true);
  });

  it('f16: rounds to nearest with ties to even', () => {
    expect(toHalfBits(0.1)).toBe(0x2e66);
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie, 0x3c00 is even
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, rounds up to even
    expect(toHalfBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above the tie
    expect(toHalfBits(2047.9)).toBe(0x6800); // mantissa carry bumps the exponent: 2048
  });

  it('f16: overflow, underflow, subnormals and NaN', () => {
    expect(toHalfBits(65520)).toBe(0x7c00); // halfway to 65536 rounds to even: infinity
    expect(toHalfBits(65519)).toBe(0x7bff);
    expect(toHalfBits(1e6)).toBe(0x7c00);
    expect(toHalfBits(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal
    expect(toHalfBits(1.5 * 2 ** -25)).toBe(0x0001);
    expect(toHalfBits(3 * 2 ** -24)).toBe(0x0003);
    expect(toHalfBits(-1e-10)).toBe(0x8000);
    expect(toHalfBits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the normals
    expect(fromHalfBits(toHalfBits(NaN))).toBeNaN();
    expect(Array.from(toHalf([1, -2]))).toEqual([0x3c00, 0xc000]);
  });
});
