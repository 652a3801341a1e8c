/**
 * The small dense linear algebra GPTQ needs, in float64 on row-major n×n arrays: Cholesky
 * factorization, triangular inverse, the upper Cholesky factor of an inverse, and the
 * streaming Hessian 2·XᵀX.
 */

/**
 * Lower Cholesky factor L of a symmetric positive definite matrix (A = L·Lᵀ), or undefined
 * when A is not positive definite. Only the lower triangle of A is read.
 */
export function cholesky(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let d = a[rowJ + j]!;
    for (let k = 0; k < j; k++) d -= l[rowJ + k]! * l[rowJ + k]!;
    if (!(d > 0) || !Number.isFinite(d)) return undefined;
    const ljj = Math.sqrt(d);
    l[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let s = a[rowI + j]!;
      for (let k = 0; k < j; k++) s -= l[rowI + k]! * l[rowJ + k]!;
      l[rowI + j] = s / ljj;
    }
  }
  return l;
}

/** M = L⁻¹ for a lower triangular L with a non-zero diagonal, row by row (rows of M combine rows above). */
export function lowerInverse(l: Float64Array, n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    // Row i of L·M = e_i: L[i][i]·M[i] = e_i − Σ_{k<i} L[i][k]·M[k].
    for (let k = 0; k < i; k++) {
      const f = l[row + k]!;
      if (f === 0) continue;
      const rowK = k * n;
      for (let j = 0; j <= k; j++) m[row + j] -= f * m[rowK + j]!;
    }
    const d = l[row + i]!;
    for (let j = 0; j < i; j++) m[row + j] /= d;
    m[row + i] = 1 / d;
  }
  return m;
}

/**
 * U, the upper triangular factor of A⁻¹ = UᵀU with a positive diagonal, for a symmetric
 * positive definite A; undefined when A is not positive definite. With P the index reversal,
 * the Cholesky factor L of P·A·P gives A = V·Vᵀ with V = P·L·P upper triangular, so
 * A⁻¹ = V⁻ᵀ·V⁻¹ and U = V⁻¹ = P·L⁻¹·P (one factorization and one triangular inverse).
 */
export function upperCholeskyOfInverse(a: Float64Array, n: number): Float64Array | undefined {
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) r[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)]!;
  const l = cholesky(r, n);
  if (!l) return undefined;
  const m = lowerInverse(l, n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u[i * n + j] = m[(n - 1 - i) * n + (n - 1 - j)]!;
  return u;
}

/**
 * Streaming H = 2·XᵀX / rows over the rows of X seen so far. Memory is K² float64 whatever
 * the number of calibration samples.
 */
export class HessianAccumulator {
  /** Upper triangle of Σ xᵀx. */
  private readonly sum: Float64Array;
  private rows = 0;

  constructor(readonly K: number) {
    this.sum = new Float64Array(K * K);
  }

  get count(): number {
    return this.rows;
  }

  /** Adds the rows of x (row-major [rows, K]; any leading dims flattened into rows). */
  add(x: ArrayLike<number>): void {
    const K = this.K;
    if (x.length % K !== 0) throw new RangeError(`${x.length} values are not whole rows of ${K}`);
    const rows = x.length / K;
    const s = this.sum;
    // Four rows per sweep over the K² sums: a quarter of the memory traffic of one at a time.
    const a = new Float64Array(K);
    const b = new Float64Array(K);
    const c = new Float64Array(K);
    const d = new Float64Array(K);
    for (let r = 0; r < rows; r += 4) {
      const take = Math.min(4, rows - r);
      for (let k = 0; k < K; k++) {
        a[k] = x[r * K + k]!;
        b[k] = take > 1 ? x[(r + 1) * K + k]! : 0;
        c[k] = take > 2 ? x[(r + 2) * K + k]! : 0;
        d[k] = take > 3 ? x[(r + 3) * K + k]! : 0;
      }
      for (let i = 0; i < K; i++) {
        const ai = a[i]!;
        const bi = b[i]!;
        const ci = c[i]!;
        const di = d[i]!;
        if (ai === 0 && bi === 0 && ci === 0 && di === 0) continue;
        const base = i * K;
        for (let j = i; j < K; j++) s[base + j] += ai * a[j]! + bi * b[j]! + ci * c[j]! + di * d[j]!;
      }
    }
    this.rows += rows;
  }

  /** H = 2·XᵀX / rows, full symmetric matrix (zeros before any row was added). */
  hessian(): Float64Array {
    const K = this.K;
    const h = new Float64Array(K * K);
    const f = this.rows > 0 ? 2 / this.rows : 0;
    for (let i = 0; i < K; i++) {
      for (let j = i; j < K; j++) {
        const v = this.sum[i * K + j]! * f;
        h[i * K + j] = v;
        h[j * K + i] = v;
      }
    }
    return h;
  }
}
