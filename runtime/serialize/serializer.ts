/**
 * The default serializer. Binary data (bytes, ArrayBuffers, typed arrays,
 * DataViews) and strings get a framed raw payload, so encoding is one
 * allocation plus one copy and decoding is usually a view of the input;
 * everything else goes through V8's structured serialization.
 *
 * Byte layout (integers little-endian):
 *
 *   offset  size  field
 *   0       3     magic "PXS" (0x50 0x58 0x53), so foreign bytes fail fast
 *   3       1     format version: 3
 *   4       1     tag: what the payload holds (below)
 *   5       1     flags: 0x01 header checksum set, 0x02 payload checksum set
 *   6       2     reserved, always zero
 *   8       8     payload length in bytes (uint64). It must equal the input's
 *                 length minus 24, so truncated or padded input is refused.
 *   16      4     header checksum: CRC-32 (zlib's) of bytes 0–15, or zero
 *   20      4     payload checksum: CRC-32 of the payload, or zero
 *   24      n     payload
 *
 * The header is 24 bytes, a multiple of 8, so a payload in a freshly allocated
 * buffer is aligned for every element size and decodes without a copy.
 *
 * The checksums turn corruption in a store or on the wire into a
 * SerializationError instead of a different value. `serialize` checks the
 * header (tag, flags, length: a flipped tag byte would otherwise decode a
 * Float64Array as an Int32Array) and every payload byte, with the fast CRC of
 * crc32.ts: a native pass at 10–12 GB/s on each write and each read, which
 * measured +5–20% on a 1 MB file or Redis put+get and +3–11% at 100 MB (see
 * bench/micro/checksum.bench.ts and docs/security.md).
 *
 * `serializeStructureChecked` (the store option `checksum: 'structure'`)
 * leaves the payload of raw values (strings, bytes, typed arrays) unchecked,
 * for a store whose medium already guards its bytes: corruption there changes
 * element values, never the type or the length (and invalid UTF-8 is refused
 * anyway). It still checks the header and the payload of structured values
 * (tags 0x20–0x23), whose every byte may be V8's structure. `deserialize`
 * checks every checksum a frame carries, and refuses a frame without the
 * header checksum, or a structured one without its payload checksum; a
 * flipped flag bit fails the header checksum.
 *
 * Frames written in a connector's own memory (`serializeInPlace`, shared
 * memory) go unchecked, and only `deserializeInPlace` reads them:
 * their bytes never leave the process, they may be written after framing
 * (`Store.allocate`), and reading them is meant to cost no pass over the data.
 *
 *   tag        payload                                   decodes to
 *   0x01       UTF-8 text                                string
 *   0x02       bytes                                     Uint8Array (view)
 *   0x03       bytes                                     Buffer (view); Buffers stay Buffers
 *   0x04       bytes                                     ArrayBuffer (always a copy: an ArrayBuffer cannot be a view)
 *   0x05       bytes                                     DataView (view)
 *   0x06–0x10  elements in the machine's byte order      Int8Array, Uint8ClampedArray, Int16Array,
 *              (little-endian wherever Node runs)        Uint16Array, Int32Array, Uint32Array, Float32Array,
 *                                                        Float64Array, BigInt64Array, BigUint64Array,
 *                                                        Float16Array, in that order (view if aligned, else a copy)
 *   0x20       V8 serialization of the value             what node:v8 restores (Map, Set, Date, BigInt, ...)
 *   0x21       V8 serialization of [value, instances,    the value, after each instances[i] gets the
 *              names]                                    prototype registered as names[i]
 *   0x22       as 0x20, each proxy in the value written  the value, each descriptor a lazy proxy again
 *              as its descriptor (see NestedProxies)     (checked as any descriptor from elsewhere)
 *   0x23       as 0x21, proxies as in 0x22               both
 *
 * Views alias the input: later writes to the input show through them, and they
 * keep the input's whole ArrayBuffer alive. Typed arrays nested in a 0x20/0x21
 * payload may alias it too (node:v8 views aligned ones). Copy with `.slice()`
 * when the input buffer is reused.
 */
import { Buffer } from 'node:buffer';
import { isArrayBuffer, isMap, isProxy, isSet } from 'node:util/types';
import { DefaultSerializer, deserialize as v8Deserialize, serialize as v8Serialize } from 'node:v8';
import { classNameOf, hasRegisteredClasses, prototypeForClass } from '../support/class-registry.js';
import { SerializationError, messageOf } from '../errors.js';
import { crc32 } from './crc32.js';
import type { TypedArray } from '../../src/types.js';

/**
 * `allocate`, when given, is where the output may be written instead of a new
 * buffer (a connector's `allocate`): the frame then needs no second copy on its
 * way into the store. A serializer may ignore it.
 */
export type Serializer = (obj: unknown, allocate?: Allocate) => Uint8Array;
/** `size` writable bytes, starting 8-aligned within their buffer. */
export type Allocate = (size: number) => Uint8Array;
export type Deserializer = (data: Uint8Array) => unknown;

const HEADER_SIZE = 24;
const FORMAT_VERSION = 3;
const HEADER_START = Uint8Array.of(0x50, 0x58, 0x53, FORMAT_VERSION);
const TAG_OFFSET = 4;
const FLAGS_OFFSET = 5;
const LENGTH_OFFSET = 8;
const HEADER_CHECKSUM_OFFSET = 16;
const PAYLOAD_CHECKSUM_OFFSET = 20;
/** The bytes the header checksum covers: everything before the checksums. */
const CHECKED_HEADER = HEADER_CHECKSUM_OFFSET;
const Flag = { HeaderChecksum: 0x01, PayloadChecksum: 0x02 } as const;
const KNOWN_FLAGS = Flag.HeaderChecksum | Flag.PayloadChecksum;
const UINT32_RANGE = 2 ** 32;
const SMALL_FRAME = 64 * 1024;

const Tag = {
  String: 0x01,
  Uint8Array: 0x02,
  Buffer: 0x03,
  ArrayBuffer: 0x04,
  DataView: 0x05,
  FirstTypedArray: 0x06,
  V8: 0x20,
  V8WithClasses: 0x21,
  V8WithProxies: 0x22,
  V8WithClassesAndProxies: 0x23,
} as const;

/** Tag order is part of the format: tag = Tag.FirstTypedArray + index. */
const TYPED_ARRAY_NAMES = [
  'Int8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'Float16Array',
] as const;

interface TypedArrayConstructor {
  readonly BYTES_PER_ELEMENT: number;
  readonly prototype: object;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): ArrayBufferView;
}

/** Reads the payload at [byteOffset, byteOffset + byteLength) of the input's ArrayBuffer. */
type Decoder = (buffer: ArrayBufferLike, byteOffset: number, byteLength: number) => unknown;

// Looked up by name because Float16Array is missing from older runtimes; its tag stays reserved there.
const typedArrays = TYPED_ARRAY_NAMES.map((name, index) => ({
  name,
  tag: Tag.FirstTypedArray + index,
  ctor: (globalThis as unknown as Partial<Record<string, TypedArrayConstructor>>)[name],
}));

// Keyed by exact prototype: subclasses take the structured path, where the class registry can see them.
const viewTags = new Map<object, number>([
  [Uint8Array.prototype, Tag.Uint8Array],
  [Buffer.prototype, Tag.Buffer],
  [DataView.prototype, Tag.DataView],
  ...typedArrays.flatMap(({ ctor, tag }) => (ctor === undefined ? [] : [[ctor.prototype, tag] as const])),
]);

const decoders = new Map<number, Decoder>([
  [Tag.String, decodeString],
  [Tag.Uint8Array, (buffer, byteOffset, byteLength) => new Uint8Array(buffer, byteOffset, byteLength)],
  [Tag.Buffer, (buffer, byteOffset, byteLength) => Buffer.from(buffer, byteOffset, byteLength)],
  [Tag.ArrayBuffer, copyBytes],
  [Tag.DataView, (buffer, byteOffset, byteLength) => new DataView(buffer, byteOffset, byteLength)],
  ...typedArrays.map(({ name, tag, ctor }) => [tag, typedArrayDecoder(name, ctor)] as const),
  [Tag.V8, (buffer, byteOffset, byteLength) => decodeV8(new Uint8Array(buffer, byteOffset, byteLength))],
  [Tag.V8WithClasses, (buffer, byteOffset, byteLength) => restoreClasses(decodeV8(new Uint8Array(buffer, byteOffset, byteLength)))],
  [Tag.V8WithProxies, (buffer, byteOffset, byteLength) => restoreProxies(decodeV8(new Uint8Array(buffer, byteOffset, byteLength)))],
  [Tag.V8WithClassesAndProxies, (buffer, byteOffset, byteLength) => restoreProxies(restoreClasses(decodeV8(new Uint8Array(buffer, byteOffset, byteLength))))],
]);

const utf8Encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF that belongs to the string; fatal turns corrupt text into an error.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Frames for bytes that travel (files, Redis, messages): the header and every payload byte are checksummed. */
export const serialize: Serializer = (obj, allocate) => seal(encode(obj, allocate), true);

/**
 * `serialize` under the name it had while it was not the default (the store
 * option `checksum: 'all'` still selects it).
 * @deprecated Use `serialize`, which now checks every byte.
 */
export const serializeChecked: Serializer = serialize;

/**
 * Like `serialize`, but the payload of raw values (strings, bytes, typed
 * arrays) goes unchecked, saving a CRC pass per write and per read: for
 * media that guard their bytes themselves (see the format notes above).
 */
export const serializeStructureChecked: Serializer = (obj, allocate) => seal(encode(obj, allocate), false);

/**
 * Frames without a checksum, for a connector's own memory (its `allocate`):
 * see the format notes above. `deserialize` reads both.
 */
export const serializeInPlace: Serializer = (obj, allocate) => encode(obj, allocate);

function encode(obj: unknown, allocate: Allocate | undefined): Uint8Array {
  if (typeof obj === 'string' && isWellFormed(obj)) {
    return encodeString(obj, allocate);
  }
  if (ArrayBuffer.isView(obj)) {
    const tag = viewTags.get(Object.getPrototypeOf(obj) as object);
    if (tag !== undefined) {
      return encodeBytes(tag, obj.buffer, obj.byteOffset, obj.byteLength, allocate);
    }
  } else if (isArrayBuffer(obj)) {
    return encodeBytes(Tag.ArrayBuffer, obj, 0, obj.byteLength, allocate);
  }
  return encodeStructured(obj);
}

export interface TypedArrayClass<A extends TypedArray> {
  readonly BYTES_PER_ELEMENT: number;
  readonly prototype: A;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): A;
}

/**
 * A typed array of `length` elements placed as the payload of a finished frame
 * in memory from `allocate` (assumed zeroed, as a connector's is): the frame
 * is what `serialize` would produce for the array once it is filled, so it can
 * be stored as it is. Undefined for a constructor the format has no tag for.
 */
export function allocateTypedArray<A extends TypedArray>(ctor: TypedArrayClass<A>, length: number, allocate: Allocate): { readonly value: A; readonly frame: Uint8Array } | undefined {
  const tag = viewTags.get(ctor.prototype);
  if (tag === undefined || tag === Tag.Buffer || tag === Tag.DataView) return undefined;
  const frame = allocateFrame(tag, length * ctor.BYTES_PER_ELEMENT, allocate);
  return { value: new ctor(frame.buffer, frame.byteOffset + HEADER_SIZE, length), frame };
}

/** Reads frames from `serialize`; refuses frames without a checksum, so clearing the flag cannot switch the check off. */
export const deserialize: Deserializer = (data) => decodeFrame(data, true);

/** Reads frames from `serializeInPlace` or `serialize`: for a connector's own memory, where both are written. */
export const deserializeInPlace: Deserializer = (data) => decodeFrame(data, false);

function decodeFrame(data: Uint8Array, requireChecksum: boolean): unknown {
  const tag = readHeader(data, requireChecksum);
  const decode = decoders.get(tag);
  if (decode === undefined) {
    throw new SerializationError(`unknown tag 0x${tag.toString(16).padStart(2, '0')}: corrupt input, or written by a newer ts-proxystore`);
  }
  return decode(data.buffer, data.byteOffset + HEADER_SIZE, data.byteLength - HEADER_SIZE);
}

// ---------------------------------------------------------------- framing

function allocateFrame(tag: number, payloadLength: number, allocate: Allocate | undefined): Uint8Array {
  const size = HEADER_SIZE + payloadLength;
  const frame = allocate === undefined ? newFrame(size) : allocated(allocate, size);
  writeHeader(frame, tag);
  return frame;
}

function newFrame(size: number): Uint8Array {
  // allocUnsafeSlow skips zero-filling (every byte gets written) and gives the frame its own
  // ArrayBuffer at offset 0, which keeps the payload aligned. The Buffer is unwrapped because
  // Buffer#slice returns a view, a trap for callers who expect Uint8Array#slice to copy.
  // Small frames come from the JS heap instead: an external allocation costs microseconds, more than zeroing a few KB.
  return size < SMALL_FRAME ? new Uint8Array(size) : new Uint8Array(Buffer.allocUnsafeSlow(size).buffer);
}

function misfit(frame: unknown): string {
  return frame instanceof Uint8Array ? `${frame.byteLength} bytes at offset ${frame.byteOffset}` : typeNameOf(frame);
}

function allocated(allocate: Allocate, size: number): Uint8Array {
  const frame = allocate(size);
  // A misfit would write past the memory it was given, or decode its typed arrays by copy.
  if (!(frame instanceof Uint8Array) || frame.byteLength !== size || frame.byteOffset % 8 !== 0) {
    throw new SerializationError(`allocate(${size}) must return a Uint8Array of exactly ${size} bytes starting 8-aligned, got ${misfit(frame)}`);
  }
  return frame;
}

function writeHeader(frame: Uint8Array, tag: number): void {
  const payloadLength = frame.byteLength - HEADER_SIZE;
  frame.set(HEADER_START, 0);
  frame[TAG_OFFSET] = tag;
  zeroBytes(frame, TAG_OFFSET + 1, LENGTH_OFFSET);
  const view = new DataView(frame.buffer, frame.byteOffset, HEADER_SIZE);
  view.setUint32(LENGTH_OFFSET, payloadLength % UINT32_RANGE, true);
  view.setUint32(LENGTH_OFFSET + 4, Math.floor(payloadLength / UINT32_RANGE), true);
  zeroBytes(frame, HEADER_CHECKSUM_OFFSET, HEADER_SIZE);
}

/**
 * A few header bytes set to zero one by one: on shared memory (a frame in a
 * recycled slot) `fill` leaves compiled code for V8's runtime on every call.
 */
function zeroBytes(frame: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) frame[i] = 0;
}

/** Sets the checksums of a finished frame (header and payload written); the payload's when asked or when it is structure. */
function seal(frame: Uint8Array, wholePayload: boolean): Uint8Array {
  const checkPayload = wholePayload || isStructured(frame[TAG_OFFSET] ?? 0);
  frame[FLAGS_OFFSET] = Flag.HeaderChecksum | (checkPayload ? Flag.PayloadChecksum : 0);
  const view = new DataView(frame.buffer, frame.byteOffset, HEADER_SIZE);
  if (checkPayload) view.setUint32(PAYLOAD_CHECKSUM_OFFSET, crc32(frame.subarray(HEADER_SIZE)), true);
  view.setUint32(HEADER_CHECKSUM_OFFSET, crc32(frame.subarray(0, CHECKED_HEADER)), true);
  return frame;
}

/** Tags whose payload bytes are V8's structure as much as data: a changed byte can change what they decode to, not only a value. */
function isStructured(tag: number): boolean {
  return tag === Tag.V8 || tag === Tag.V8WithClasses || tag === Tag.V8WithProxies || tag === Tag.V8WithClassesAndProxies;
}

/** Validates the header and returns the tag. */
function readHeader(data: Uint8Array, requireChecksum: boolean): number {
  if (!(data instanceof Uint8Array)) {
    throw new SerializationError(`expected a Uint8Array to deserialize, got ${typeNameOf(data)}`);
  }
  if (data.byteLength < HEADER_SIZE) {
    throw new SerializationError(`truncated input: ${data.byteLength} bytes is shorter than the ${HEADER_SIZE}-byte header`);
  }
  if (data[0] !== HEADER_START[0] || data[1] !== HEADER_START[1] || data[2] !== HEADER_START[2]) {
    throw new SerializationError('not a ts-proxystore encoding: the magic bytes are missing');
  }
  if (data[3] !== FORMAT_VERSION) {
    throw new SerializationError(`unsupported format version ${data[3]} (this build reads version ${FORMAT_VERSION})`);
  }
  const flags = data[FLAGS_OFFSET] ?? 0;
  const view = new DataView(data.buffer, data.byteOffset, HEADER_SIZE);
  // First, so that every later complaint about the header is about bytes that were written that way.
  if ((flags & Flag.HeaderChecksum) === 0) {
    if (requireChecksum) throw new SerializationError('corrupt header: the frame carries no checksum (only frames in a connector\'s own memory may omit it)');
  } else if (view.getUint32(HEADER_CHECKSUM_OFFSET, true) !== crc32(data.subarray(0, CHECKED_HEADER))) {
    throw new SerializationError('corrupt header: its checksum does not match (changed in the store or on the way)');
  }
  if ((flags & ~KNOWN_FLAGS) !== 0 || data[6] !== 0 || data[7] !== 0 || ((flags & Flag.PayloadChecksum) === 0 && view.getUint32(PAYLOAD_CHECKSUM_OFFSET, true) !== 0)) {
    throw new SerializationError('corrupt header: unknown flags, or reserved bytes that are not zero');
  }
  const payloadLength = view.getUint32(LENGTH_OFFSET, true) + view.getUint32(LENGTH_OFFSET + 4, true) * UINT32_RANGE;
  if (payloadLength !== data.byteLength - HEADER_SIZE) {
    throw new SerializationError(
      `the header announces ${payloadLength} payload bytes but ${data.byteLength - HEADER_SIZE} follow: truncated or corrupt input`,
    );
  }
  const tag = data[TAG_OFFSET] ?? 0;
  if ((flags & Flag.PayloadChecksum) === 0) {
    if (requireChecksum && isStructured(tag)) throw new SerializationError('corrupt header: a structured frame carries no payload checksum');
  } else if (view.getUint32(PAYLOAD_CHECKSUM_OFFSET, true) !== crc32(data.subarray(HEADER_SIZE))) {
    throw new SerializationError('corrupt input: the payload checksum does not match the bytes (changed in the store or on the way)');
  }
  return tag;
}

// ---------------------------------------------------------------- raw payloads

function encodeBytes(tag: number, buffer: ArrayBufferLike, byteOffset: number, byteLength: number, allocate: Allocate | undefined): Uint8Array {
  const frame = allocateFrame(tag, byteLength, allocate);
  frame.set(new Uint8Array(buffer, byteOffset, byteLength), HEADER_SIZE);
  return frame;
}

function encodeString(text: string, allocate: Allocate | undefined): Uint8Array {
  const frame = allocateFrame(Tag.String, Buffer.byteLength(text, 'utf8'), allocate);
  utf8Encoder.encodeInto(text, frame.subarray(HEADER_SIZE));
  return frame;
}

/**
 * Lone surrogates do not survive UTF-8, so such strings take the structured path,
 * which keeps UTF-16 code units as they are. (ES2024; the project's lib stops at ES2023.)
 */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function decodeString(buffer: ArrayBufferLike, byteOffset: number, byteLength: number): string {
  try {
    return utf8Decoder.decode(new Uint8Array(buffer, byteOffset, byteLength));
  } catch (error) {
    throw new SerializationError('corrupt string: the payload is not valid UTF-8', { cause: error });
  }
}

function copyBytes(buffer: ArrayBufferLike, byteOffset: number, byteLength: number): ArrayBuffer {
  return new Uint8Array(buffer, byteOffset, byteLength).slice().buffer;
}

function typedArrayDecoder(name: string, ctor: TypedArrayConstructor | undefined): Decoder {
  if (ctor === undefined) {
    return () => {
      throw new SerializationError(`the input holds a ${name}, which this runtime does not have`);
    };
  }
  const size = ctor.BYTES_PER_ELEMENT;
  return (buffer, byteOffset, byteLength) => {
    if (byteLength % size !== 0) {
      throw new SerializationError(`corrupt ${name}: ${byteLength} bytes is not a whole number of ${size}-byte elements`);
    }
    // A typed array cannot start at a misaligned offset, so only then is the payload copied.
    return byteOffset % size === 0
      ? new ctor(buffer, byteOffset, byteLength / size)
      : new ctor(copyBytes(buffer, byteOffset, byteLength), 0, byteLength / size);
  };
}

// ---------------------------------------------------------------- structured payloads

const HEADER_PLACEHOLDER = new Uint8Array(HEADER_SIZE);

function encodeStructured(value: unknown): Uint8Array {
  try {
    return encodeClasses(value, false);
  } catch (error) {
    // V8 cannot clone a Proxy; ours go as their descriptors, which costs a walk only for values that hold one.
    if (nestedProxies === undefined || findUncloneable(value)?.type !== 'Proxy') throw unsupportedValue(value, error);
  }
  const encoded = nestedProxies.encode(value);
  try {
    return encodeClasses(encoded, true);
  } catch (error) {
    throw unsupportedValue(encoded, error);
  }
}

function encodeClasses(value: unknown, proxies: boolean): Uint8Array {
  const classes = hasRegisteredClasses() ? findRegisteredInstances(value) : undefined;
  if (classes === undefined || classes.instances.length === 0) {
    return encodeV8(proxies ? Tag.V8WithProxies : Tag.V8, value);
  }
  // V8 keeps object identity within one serialization, so instances[i] decodes as the very
  // object found inside value: no markers in the user's data, and cycles keep working.
  return encodeV8(proxies ? Tag.V8WithClassesAndProxies : Tag.V8WithClasses, [value, classes.instances, classes.names]);
}

/**
 * How proxies inside a structured value are written and read back: the store
 * layer (references.ts) provides it when it loads, so this module imports
 * nothing above it. `encode` gives the value with each proxy replaced by its
 * descriptor (refusing ones that cannot be copied into every read), `decode`
 * the value with each descriptor back as a lazy proxy, checked as any
 * descriptor from elsewhere is.
 */
export interface NestedProxies {
  encode(value: unknown): unknown;
  decode(value: unknown): unknown;
}

let nestedProxies: NestedProxies | undefined;

export function provideNestedProxies(codec: NestedProxies): void {
  nestedProxies = codec;
}

function restoreProxies(value: unknown): unknown {
  if (nestedProxies === undefined) throw new SerializationError('the value holds proxies, which only the package entry (ts-proxystore) can read back: import it first');
  try {
    return nestedProxies.decode(value);
  } catch (error) {
    throw new SerializationError(`a proxy stored inside the value cannot be read back: ${messageOf(error)}`, { cause: error });
  }
}

function encodeV8(tag: number, payload: unknown): Uint8Array {
  const serializer = new DefaultSerializer();
  // Reserving the header inside V8's own output buffer saves copying the payload into a frame.
  serializer.writeRawBytes(HEADER_PLACEHOLDER);
  serializer.writeHeader();
  serializer.writeValue(payload);
  const released = serializer.releaseBuffer();
  const frame = new Uint8Array(released.buffer, released.byteOffset, released.byteLength);
  writeHeader(frame, tag);
  return frame;
}

function decodeV8(payload: Uint8Array): unknown {
  try {
    return v8Deserialize(payload);
  } catch (error) {
    throw new SerializationError(`corrupt structured payload: ${messageOf(error)}`, { cause: error });
  }
}

function restoreClasses(decoded: unknown): unknown {
  if (!Array.isArray(decoded) || decoded.length !== 3) {
    throw new SerializationError('corrupt class payload: expected [value, instances, names]');
  }
  const [value, instances, names] = decoded as unknown[];
  if (!Array.isArray(instances) || !Array.isArray(names) || instances.length !== names.length) {
    throw new SerializationError('corrupt class payload: instances and names do not pair up');
  }
  names.forEach((name: unknown, index) => {
    const instance: unknown = instances[index];
    if (typeof name !== 'string' || !isObject(instance)) {
      throw new SerializationError('corrupt class payload: expected an object and a class name');
    }
    const prototype = prototypeForClass(name);
    if (prototype === undefined) {
      throw new SerializationError(`class '${name}' is not registered in this process: call registerClass before deserializing`);
    }
    Object.setPrototypeOf(instance, prototype);
  });
  return value;
}

// ---------------------------------------------------------------- object graph walks

/** Where a child sits in its parent: an array index, a property name, or a Map/Set slot. */
type ChildKey = number | string | { readonly slot: string };

const MAP_KEY = { slot: 'Map key' };
const MAP_VALUE = { slot: 'Map value' };
const SET_MEMBER = { slot: 'Set member' };

/**
 * Longer arrays are walked by their keys instead: a sparse array can be far longer
 * than it has elements, and counting through billions of holes would hang.
 */
const LONG_ARRAY = 2 ** 24;

/**
 * Visits what V8 serializes inside `value`: array elements, Map and Set members,
 * and own enumerable properties of ordinary objects. Proxies are not entered,
 * since their traps could run arbitrary code (or resolve a lazy proxy).
 */
/** Callers never pass a Proxy: walking one would run its traps. */
function forEachChild(value: object, visit: (child: unknown, key: ChildKey) => void): void {
  if (Array.isArray(value) && value.length <= LONG_ARRAY) {
    for (let index = 0; index < value.length; index++) {
      visit(value[index], index);
    }
  } else if (isMap(value)) {
    value.forEach((member, key) => {
      visit(key, MAP_KEY);
      visit(member, MAP_VALUE);
    });
  } else if (isSet(value)) {
    value.forEach((member) => visit(member, SET_MEMBER));
  } else if (Array.isArray(value) || toStringTag(value) === 'Object') {
    for (const key of Object.keys(value)) {
      visit((value as Record<string, unknown>)[key], key);
    }
  }
}

function findRegisteredInstances(root: unknown): { instances: object[]; names: string[] } {
  const instances: object[] = [];
  const names: string[] = [];
  const seen = new Set<object>();
  const pending: object[] = [];
  const enqueue = (child: unknown): void => {
    if (isObject(child) && !seen.has(child) && !isProxy(child)) {
      seen.add(child);
      pending.push(child);
    }
  };
  enqueue(root);
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    const name = classNameOf(node);
    if (name !== undefined) {
      instances.push(node);
      names.push(name);
    }
    forEachChild(node, enqueue);
  }
  return { instances, names };
}

/** Only on the error path: finds the value V8 refused, to name its type and where it sits. */
function unsupportedValue(value: unknown, error: unknown): SerializationError {
  let culprit: ReturnType<typeof findUncloneable>;
  try {
    culprit = findUncloneable(value);
  } catch {
    // A getter that failed during serialization fails again here; its error becomes the cause.
  }
  // V8 serializes recursively: thousands of nesting levels exhaust the stack.
  const tooDeep = error instanceof RangeError && /call stack/i.test(error.message);
  const reason = tooDeep ? 'a value nested too deeply (V8 ran out of stack: flatten it, or keep it under a few thousand levels)' : messageOf(error);
  const detail = culprit === undefined ? reason : `a value of type ${culprit.type} at ${culprit.path}`;
  return new SerializationError(`cannot serialize ${detail}`, { cause: error });
}

function findUncloneable(root: unknown): { type: string; path: string } | undefined {
  const pending: [unknown, string][] = [[root, 'value']];
  const seen = new Set<object>();
  for (let entry = pending.pop(); entry !== undefined; entry = pending.pop()) {
    const [value, path] = entry;
    const type = uncloneableType(value);
    if (type !== undefined) {
      return { type, path };
    }
    if (isObject(value) && !seen.has(value)) {
      seen.add(value);
      forEachChild(value, (child, key) => pending.push([child, childPath(path, key)]));
    }
  }
  return undefined;
}

function uncloneableType(value: unknown): string | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') {
    return typeof value;
  }
  if (!isObject(value)) {
    return undefined;
  }
  if (isProxy(value)) {
    return 'Proxy';
  }
  if (Array.isArray(value) || isMap(value) || isSet(value) || toStringTag(value) === 'Object') {
    return undefined; // containers: their children are checked instead
  }
  try {
    v8Serialize(value);
    return undefined;
  } catch {
    return toStringTag(value);
  }
}

function childPath(path: string, key: ChildKey): string {
  if (typeof key === 'number') {
    return `${path}[${key}]`;
  }
  if (typeof key === 'string') {
    return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
  }
  return `${path}<${key.slot}>`;
}

// ---------------------------------------------------------------- helpers

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function toStringTag(value: object): string {
  return Object.prototype.toString.call(value).slice('[object '.length, -1);
}

function typeNameOf(value: unknown): string {
  return isObject(value) ? toStringTag(value) : typeof value;
}

