/** Signal-to-quantization-noise ratio in dB: +Infinity for identical values, -Infinity for a zero signal. */
export function sqnrDb(signalPower: number, noisePower: number): number {
  if (noisePower === 0) return Infinity;
  return 10 * Math.log10(signalPower / noisePower);
}
