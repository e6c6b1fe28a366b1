/**
 * The four tile kernels of a right-looking tiled Cholesky factorization
 * (A = L·Lᵀ), on square tiles stored row-major in Float64Arrays. Each writes
 * its result into `out` (a new tile unless the caller gives one, as the tasks
 * give `resultArray`'s) and never writes its inputs, so a tile can feed many
 * tasks at once.
 * The order of every floating-point operation is fixed, so a factorization
 * gives bit-identical numbers however its tiles travel.
 */

/** Tiles are square; the side follows from the length. */
function sideOf(tile: Float64Array): number {
  const side = Math.sqrt(tile.length);
  if (!Number.isInteger(side)) throw new RangeError(`a tile must be square, got ${tile.length} elements`);
  return side;
}

/** L with A = L·Lᵀ, for a symmetric positive definite tile A (only its lower triangle is read). `l` must be zeroed: its upper triangle is left as it is. */
export function potrf(a: Float64Array, l: Float64Array = new Float64Array(a.length)): Float64Array {
  const b = sideOf(a);
  for (let j = 0; j < b; j++) {
    let diagonal = a[j * b + j]!;
    for (let k = 0; k < j; k++) diagonal -= l[j * b + k]! * l[j * b + k]!;
    if (!(diagonal > 0)) throw new RangeError(`tile is not positive definite (pivot ${j} is ${diagonal})`);
    const root = Math.sqrt(diagonal);
    l[j * b + j] = root;
    for (let i = j + 1; i < b; i++) {
      let s = a[i * b + j]!;
      for (let k = 0; k < j; k++) s -= l[i * b + k]! * l[j * b + k]!;
      l[i * b + j] = s / root;
    }
  }
  return l;
}

/** X with X·Lᵀ = A, for the lower-triangular factor L of a diagonal tile. Every element of `x` is written. */
export function trsm(l: Float64Array, a: Float64Array, x: Float64Array = new Float64Array(a.length)): Float64Array {
  const b = sideOf(l);
  for (let r = 0; r < b; r++) {
    for (let j = 0; j < b; j++) {
      let s = a[r * b + j]!;
      for (let k = 0; k < j; k++) s -= l[j * b + k]! * x[r * b + k]!;
      x[r * b + j] = s / l[j * b + j]!;
    }
  }
  return x;
}

/** C − A·Bᵀ: the trailing update of an off-diagonal tile (gemm) or, with A = B, of a diagonal one (syrk). Every element of `out` is written. */
export function gemm(c: Float64Array, a: Float64Array, bt: Float64Array, out: Float64Array = new Float64Array(c.length)): Float64Array {
  const b = sideOf(c);
  for (let r = 0; r < b; r++) {
    for (let col = 0; col < b; col++) {
      let s = c[r * b + col]!;
      for (let k = 0; k < b; k++) s -= a[r * b + k]! * bt[col * b + k]!;
      out[r * b + col] = s;
    }
  }
  return out;
}

export function syrk(c: Float64Array, a: Float64Array, out: Float64Array = new Float64Array(c.length)): Float64Array {
  return gemm(c, a, a, out);
}

/**
 * A symmetric, diagonally dominant (hence positive definite) n×n matrix with
 * pseudo-random off-diagonal entries in [0, 1): the same for the same seed.
 */
export function spdMatrix(n: number, seed = 1): Float64Array {
  const m = new Float64Array(n * n);
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: cheap, deterministic, good enough for test data.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    m[i * n + i] = n;
    for (let j = 0; j < i; j++) m[i * n + j] = m[j * n + i] = next();
  }
  return m;
}

/** max |(L·Lᵀ − A)ᵢⱼ| / max |Aᵢⱼ|: how well `l` factors `a` (n×n, row-major). */
export function relativeResidual(a: Float64Array, l: Float64Array, n: number): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k <= j; k++) s += l[i * n + k]! * l[j * n + k]!;
      worst = Math.max(worst, Math.abs(s - a[i * n + j]!));
      scale = Math.max(scale, Math.abs(a[i * n + j]!));
    }
  }
  return worst / scale;
}
