/**
 * Socket reads that land where they belong: while a reply's body is due,
 * straight into the body's own memory (no copy out of a socket chunk, and
 * reads as big as the kernel has); otherwise into a small scratch buffer,
 * which the owner parses (copying out what it keeps) before the next read.
 * The peer and Redis connectors' links read their replies through it.
 */
import { Buffer } from 'node:buffer';

/** Reads outside bodies (greetings, headers, a body's first bytes behind its header). */
const SCRATCH_BYTES = 64 * 1024;

export class BodyReads {
  readonly #scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  #body: Uint8Array | undefined;
  #filled = 0;
  readonly #onScratch: (chunk: Buffer) => void;
  readonly #onBody: (body: Uint8Array) => void;

  /** `onScratch`: bytes read outside a body (valid until the next read); `onBody`: a body is complete. */
  constructor(onScratch: (chunk: Buffer) => void, onBody: (body: Uint8Array) => void) {
    this.#onScratch = onScratch;
    this.#onBody = onBody;
  }

  /** For `net.connect({ onread })`. */
  readonly onread = {
    buffer: (): Uint8Array => (this.#body === undefined ? this.#scratch : this.#body.subarray(this.#filled)),
    callback: (size: number, buffer: Uint8Array): boolean => {
      if (buffer === this.#scratch) this.#onScratch(this.#scratch.subarray(0, size));
      else this.#advance(size);
      return true;
    },
  };

  /** Whether a body is due: the next bytes are its. */
  get due(): boolean {
    return this.#body !== undefined;
  }

  /** The next `body.byteLength` bytes go into `body`; an empty one is complete at once. */
  expect(body: Uint8Array): void {
    this.#body = body;
    this.#filled = 0;
    this.#advance(0);
  }

  /** Moves what of the due body a scratch chunk holds from `at` into it; returns where those bytes end. */
  fill(chunk: Buffer, at: number): number {
    const body = this.#body as Uint8Array;
    const take = Math.min(chunk.length - at, body.byteLength - this.#filled);
    body.set(chunk.subarray(at, at + take), this.#filled);
    this.#advance(take);
    return at + take;
  }

  #advance(size: number): void {
    const body = this.#body as Uint8Array;
    this.#filled += size;
    if (this.#filled < body.byteLength) return;
    this.#body = undefined;
    this.#onBody(body);
  }
}
