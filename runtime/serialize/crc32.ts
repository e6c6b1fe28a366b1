/**
 * CRC-32 (the IEEE polynomial, zlib's) for frame checksums. Checking every
 * payload byte costs a pass over the data on each write and each read, so its
 * speed decides what the default can afford: zlib's table-driven CRC runs at
 * about 3.5 GB/s here, which made a 1 MB file or Redis round trip 1.2–1.3x;
 * `@node-rs/crc32` (an optional dependency; prebuilt, SIMD) computes the same
 * function at 10–12 GB/s. Both give identical values, so frames written with
 * one are read with the other: a platform without the native build falls
 * back to zlib and only pays in speed.
 */
import { createRequire } from 'node:module';
import { crc32 as zlibCrc32 } from 'node:zlib';

type Crc32 = (data: Uint8Array) => number;

/** The native implementation when it loads and agrees with zlib on a probe, else none. */
function loadNative(): Crc32 | undefined {
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as { crc32?: unknown };
    if (typeof native.crc32 !== 'function') return undefined;
    const crc = native.crc32 as (data: Uint8Array) => number;
    const probe = Uint8Array.from({ length: 4099 }, (_, i) => (i * 131) & 0xff);
    return crc(probe) === zlibCrc32(probe) ? crc : undefined;
  } catch {
    // Not installed (optional dependencies may be skipped), or no build for this platform.
    return undefined;
  }
}

/**
 * Looked for at the first checksum, not while this module loads: a module
 * graph that piscina or a CommonJS caller loads with `require()` (Node 20's
 * require(esm)) then runs no nested `require` of a native addon.
 */
let native: Crc32 | null | undefined;

function nativeCrc32(): Crc32 | null {
  if (native === undefined) native = loadNative() ?? null;
  return native;
}

/** Which implementation checks frames in this thread (the bench reports it). */
export function crc32Implementation(): 'native' | 'zlib' {
  return nativeCrc32() === null ? 'zlib' : 'native';
}

/** Payloads smaller than this go to zlib: a native call's fixed cost outweighs its speed on a few bytes. */
const NATIVE_FROM = 256;

export function crc32(data: Uint8Array): number {
  if (data.byteLength < NATIVE_FROM) return zlibCrc32(data);
  const fast = nativeCrc32();
  return fast === null ? zlibCrc32(data) : fast(data);
}
