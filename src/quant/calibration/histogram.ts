/**
 * A streaming histogram whose memory does not depend on how many values it has seen: a
 * fixed number of bins whose width is a power of two, anchored at 0 (bin g covers
 * [g·w, (g+1)·w)). When new values fall outside the window, the window first slides, and if
 * the span no longer fits, the width doubles and pairs of bins merge — exactly, because
 * power-of-two bins anchored at 0 nest. Two histograms merge the same way, so a group of
 * tensors that must share one range can pool their statistics.
 *
 * Exact zeros are counted apart (ReLU outputs are mostly zeros, and 0 is always exactly
 * representable), and min/max are tracked exactly for the minmax method.
 */

export const DEFAULT_BINS = 2048;

export class StreamingHistogram {
  readonly bins: number;
  /** Counts of the window's bins (zeros excluded). */
  private counts: Float64Array;
  /** Global index of counts[0]. */
  private start = 0;
  /** Bin width is 2^exp. */
  private exp = 0;
  private used = false;
  min = Infinity;
  max = -Infinity;
  /** Finite values seen, zeros included. */
  total = 0;
  zeros = 0;
  /** NaN and ±Infinity values, which are left out of everything else. */
  nonFinite = 0;

  constructor(bins = DEFAULT_BINS) {
    if (!Number.isInteger(bins) || bins < 16) throw new RangeError(`a histogram needs at least 16 bins (got ${bins})`);
    this.bins = bins;
    this.counts = new Float64Array(bins);
  }

  get width(): number {
    return 2 ** this.exp;
  }

  /** Bytes of state; constant for the histogram's lifetime. */
  get stateBytes(): number {
    return this.counts.byteLength;
  }

  add(values: ArrayLike<number>): void {
    let lo = Infinity;
    let hi = -Infinity;
    let zeros = 0;
    let bad = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v === 0) zeros++;
      else if (v - v !== 0) bad++; // NaN or ±Infinity
      else {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    this.zeros += zeros;
    this.nonFinite += bad;
    this.total += values.length - bad;
    if (zeros > 0) {
      if (0 < this.min) this.min = 0;
      if (0 > this.max) this.max = 0;
    }
    if (lo > hi) return; // nothing but zeros / non-finite values
    if (lo < this.min) this.min = lo;
    if (hi > this.max) this.max = hi;
    this.fit(lo, hi);
    const inv = 2 ** -this.exp;
    const counts = this.counts;
    const start = this.start;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v === 0 || v - v !== 0) continue;
      counts[Math.floor(v * inv) - start]!++;
    }
  }

  /** Adds another histogram's counts (same bin count or not); the other is unchanged. */
  merge(other: StreamingHistogram): void {
    this.zeros += other.zeros;
    this.nonFinite += other.nonFinite;
    this.total += other.total;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (!other.used || !other.anyUsed()) return;
    const [olo, ohi] = other.usedRange();
    if (!this.used) {
      this.used = true;
      this.exp = other.exp;
      this.start = olo;
      this.counts.fill(0);
    }
    // Never finer than the other, then cover its occupied span.
    while (this.exp < other.exp) this.rebin(this.exp + 1);
    this.ensureWindow(olo * other.width, (ohi + 0.5) * other.width);
    const f = 2 ** (this.exp - other.exp);
    for (let g = olo; g <= ohi; g++) {
      const c = other.counts[g - other.start]!;
      if (c) this.counts[Math.floor(g / f) - this.start]! += c;
    }
  }

  /** Global indices of the first and last non-empty bins. */
  private usedRange(): [number, number] {
    let a = 0;
    let b = this.bins - 1;
    while (a < b && this.counts[a] === 0) a++;
    while (b > a && this.counts[b] === 0) b--;
    return [this.start + a, this.start + b];
  }

  /** Makes the window cover [lo, hi] (non-zero finite values), sliding or coarsening it. */
  private fit(lo: number, hi: number): void {
    if (!this.used) {
      const span = hi - lo || Math.abs(hi) || 1;
      this.exp = Math.ceil(Math.log2(span / (this.bins - 2)));
      this.used = true;
      this.start = Math.floor(lo / this.width);
      this.counts.fill(0);
      this.ensureWindow(lo, hi);
      return;
    }
    this.ensureWindow(lo, hi);
  }

  private ensureWindow(lo: number, hi: number): void {
    for (;;) {
      const inv = 2 ** -this.exp;
      const glo = Math.floor(lo * inv);
      const ghi = Math.floor(hi * inv);
      if (glo >= this.start && ghi < this.start + this.bins) return;
      const [ulo, uhi] = this.anyUsed() ? this.usedRange() : [glo, ghi];
      const need = Math.max(uhi, ghi) - Math.min(ulo, glo) + 1;
      if (need <= this.bins) {
        // Slide: centre the needed span in the window.
        const first = Math.min(ulo, glo) - Math.floor((this.bins - need) / 2);
        this.slide(first);
        return;
      }
      this.rebin(this.exp + 1);
    }
  }

  private anyUsed(): boolean {
    return this.counts.some((c) => c !== 0);
  }

  private slide(first: number): void {
    if (first === this.start) return;
    const next = new Float64Array(this.bins);
    for (let j = 0; j < this.bins; j++) {
      const c = this.counts[j]!;
      if (c) next[this.start + j - first] = c;
    }
    this.counts = next;
    this.start = first;
  }

  /** Coarsens to width 2^exp: bin g becomes floor(g / 2^(exp - old)). */
  private rebin(exp: number): void {
    const f = 2 ** (exp - this.exp);
    const first = Math.floor(this.start / f);
    const next = new Float64Array(this.bins);
    for (let j = 0; j < this.bins; j++) {
      const c = this.counts[j]!;
      if (c) next[Math.floor((this.start + j) / f) - first]! += c;
    }
    this.counts = next;
    this.start = first;
    this.exp = exp;
  }

  /** The occupied bins: counts[i] covers [lo + i·width, lo + (i+1)·width); zeros not included. */
  snapshot(): { counts: Float64Array; lo: number; width: number } {
    if (!this.used || !this.anyUsed()) return { counts: new Float64Array(0), lo: 0, width: this.width };
    const [a, b] = this.usedRange();
    return { counts: this.counts.slice(a - this.start, b - this.start + 1), lo: a * this.width, width: this.width };
  }

  /**
   * Histogram of |x| (zeros included in bin 0): bin j covers [j·w, (j+1)·w). Negative bins
   * fold exactly because they are anchored at 0.
   */
  absolute(): { counts: Float64Array; width: number } {
    if (!this.used) return { counts: Float64Array.of(this.zeros), width: this.width };
    const [a, b] = this.usedRange();
    const n = Math.max(-a, b + 1, 1);
    const out = new Float64Array(n);
    for (let g = a; g <= b; g++) {
      const c = this.counts[g - this.start]!;
      if (c) out[g >= 0 ? g : -g - 1]! += c;
    }
    out[0]! += this.zeros;
    return { counts: out, width: this.width };
  }

  /** The value below which a fraction q of the values lie (linear within a bin). */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const target = Math.min(1, Math.max(0, q)) * this.total;
    const { counts, lo, width } = this.snapshot();
    let seen = 0;
    let zeroPending = this.zeros > 0;
    for (let i = 0; i < counts.length; i++) {
      const left = lo + i * width;
      if (zeroPending && left >= 0) {
        seen += this.zeros;
        zeroPending = false;
        if (seen >= target) return 0;
      }
      const c = counts[i]!;
      if (seen + c >= target && c > 0) {
        const v = left + ((target - seen) / c) * width;
        return Math.min(this.max, Math.max(this.min, v));
      }
      seen += c;
    }
    return zeroPending && seen + this.zeros >= target ? 0 : this.max;
  }
}
