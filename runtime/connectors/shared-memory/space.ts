/**
 * A thread's membership in a shared-memory space: which segments it can reach,
 * and the channel through which the threads of the space tell each other.
 *
 * Announcing: every member listens on one BroadcastChannel per space. A put
 * posts `{ id, segment }` there, so every thread already in the space receives
 * the SharedArrayBuffer itself (shared, not copied) and adopts it. A thread
 * reads its pending announcements with `receiveMessageOnPort` before every
 * lookup, so nothing waits for an event-loop turn.
 *
 * Catching up: a BroadcastChannel delivers only to channels that existed when
 * the message was posted, and a worker typically joins the space when the
 * first descriptor naming it arrives, after the put. A thread that lacks an id
 * posts `want`; every member holding the segment answers with an `offer`, and
 * the owner (the thread that put it; ids name it) answers `missing` when it no
 * longer holds it. The asker blocks in `Atomics.wait` (getSync) or awaits (the
 * async operations) until an answer or a timeout. Answering needs the
 * answering thread's event loop, so a long synchronous stretch there delays
 * the answer.
 *
 * Freeing: evict marks the segment evicted in its header, where every thread
 * sees it at once, and posts `evict`, upon which every member drops its
 * reference. The memory returns when no thread refers to it any more, views
 * handed out included (see `released` for how collection is prompted).
 * Withdrawing: an owner that keeps the memory of its idle slabs for another
 * space (see `SlabPool.retire`) posts `withdraw` instead: every member drops
 * its reference as the message reaches it, and nothing is marked, since a
 * mark read late would make the slab look evicted in the space it serves next.
 * What the slabs held is gone already: no slot of theirs is stored, and a key
 * of the old space names a generation no slot will hold again.
 *
 * Leaving: a member stays while connectors on the space are open in its thread,
 * then only until it holds no segment (keeping what it has reachable for the
 * others meanwhile, but adopting nothing new). It posts `leave` with its
 * thread's last sequence number, so the others answer `missing` for it from
 * then on. An owner thread that ends without leaving (a terminated worker)
 * cannot answer: asking for its evicted objects then ends in the timeout.
 */
import { isSharedArrayBuffer } from 'node:util/types';
import { BroadcastChannel, receiveMessageOnPort, threadId, type MessagePort } from 'node:worker_threads';
import type { Key } from '../connector.js';
import { ConnectorError } from '../../errors.js';
import { isLive, isSegment, markEvicted, payloadSize, released } from './segment.js';

/** Versioned, so threads running different protocol versions never misread each other. */
const CHANNEL_PREFIX = 'ts-proxystore:shared-memory:1:';
const SEQUENCE = Symbol.for('ts-proxystore:shared-memory:sequence');

type Message =
  | { readonly op: 'put'; readonly items: readonly (readonly [id: string, segment: SharedArrayBuffer])[] }
  | { readonly op: 'evict'; readonly ids: readonly string[] }
  | { readonly op: 'withdraw'; readonly ids: readonly string[] }
  | { readonly op: 'want'; readonly id: string; readonly from: number; readonly signal: SharedArrayBuffer }
  | { readonly op: 'offer'; readonly id: string; readonly to: number; readonly segment: SharedArrayBuffer }
  | { readonly op: 'missing'; readonly id: string; readonly to: number }
  | { readonly op: 'leave'; readonly thread: number; readonly seq: number };

/** What the caller is doing, for errors. */
export interface Operation {
  readonly operation: string;
  readonly key: Key;
}

interface Waiter {
  answered: boolean;
  wake?: () => void;
}

// @types/node 20 omits both, though Node has taken a BroadcastChannel here and had unref() since v15.
const receive = receiveMessageOnPort as (port: MessagePort | BroadcastChannel) => { message: unknown } | undefined;
type Unrefable = BroadcastChannel & { unref(): void };

/**
 * Per thread, so that every id this thread hands out, in any space, is new.
 * Kept on the global object so that two copies of this module loaded in one
 * thread (a bundled and an installed copy, say) never hand out the same id.
 */
const sequence = ((globalThis as { [SEQUENCE]?: { last: number } })[SEQUENCE] ??= { last: 0 });
const members = new Map<string, Member>();

/** This thread's member of `space`, joined if need be; call `release` once done with it. */
export function joinSpace(space: string): Member {
  let member = members.get(space);
  if (member === undefined) members.set(space, (member = new Member(space)));
  member.users++;
  return member;
}

/** `<pid>.<thread>.<seq>`: unique in the process, and names the owner thread. */
const ID = /^(\d+)\.(\d+)\.(\d+)$/;

export function isSpaceId(id: string): boolean {
  return ID.test(id);
}

/** The process an id was made in; ids of other processes cannot be reached from here. */
export function processOf(id: string): number {
  return Number(ID.exec(id)?.[1]);
}

/** The channel name is public: anything posted on it that is not one of our messages is ignored. */
function isMessage(data: unknown): data is Message {
  if (typeof data !== 'object' || data === null) return false;
  const message = data as { [field: string]: unknown };
  const id = typeof message.id === 'string' && isSpaceId(message.id);
  switch (message.op) {
    case 'put':
      return Array.isArray(message.items) && message.items.every((item: unknown) => Array.isArray(item) && typeof item[0] === 'string' && isSpaceId(item[0]) && isSegment(item[1]));
    case 'evict':
    case 'withdraw':
      return Array.isArray(message.ids) && message.ids.every((each: unknown) => typeof each === 'string');
    case 'want':
      return id && typeof message.from === 'number' && isSharedArrayBuffer(message.signal) && message.signal.byteLength === 4;
    case 'offer':
      return id && typeof message.to === 'number' && isSegment(message.segment);
    case 'missing':
      return id && typeof message.to === 'number';
    case 'leave':
      return typeof message.thread === 'number' && typeof message.seq === 'number';
    default:
      return false;
  }
}

function ownerOf(id: string): { thread: number; seq: number } {
  const [, , thread, seq] = ID.exec(id) ?? [];
  return { thread: Number(thread), seq: Number(seq) };
}

export class Member {
  readonly space: string;
  /** Connectors in this thread using the member. */
  users = 0;
  readonly #channel: BroadcastChannel;
  readonly #segments = new Map<string, SharedArrayBuffer>();
  /** Bumped by whoever answers one of our wants, after posting the answer. */
  readonly #signal = new Int32Array(new SharedArrayBuffer(4));
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** Owner threads that left, with the last sequence number they had handed out. */
  readonly #departed = new Map<number, number>();

  constructor(space: string) {
    this.space = space;
    this.#channel = new BroadcastChannel(CHANNEL_PREFIX + space);
    this.#channel.onmessage = (event: MessageEvent) => this.#handle(event.data);
    // Listening must not keep a thread alive that has nothing else to do.
    (this.#channel as Unrefable).unref();
  }

  /** Store segments made by this thread; returns their ids. */
  put(segments: readonly SharedArrayBuffer[]): string[] {
    const items = segments.map((segment) => [`${process.pid}.${threadId}.${++sequence.last}`, segment] as const);
    for (const [id, segment] of items) this.#segments.set(id, segment);
    this.#post({ op: 'put', items });
    return items.map(([id]) => id);
  }

  /** The segment if this thread holds it, after taking in every pending announcement. */
  lookup(id: string): SharedArrayBuffer | undefined {
    this.#drain();
    return this.#held(id);
  }

  /** Like `fetch`, blocking this thread until an answer comes. */
  fetchSync(id: string, timeoutMs: number, doing: Operation): SharedArrayBuffer | undefined {
    const held = this.lookup(id);
    if (held !== undefined || !this.#mayAsk(id)) return held;
    const waiter = this.#ask(id);
    try {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        // Read the counter before draining: an answer posted after the drain has
        // bumped it since, so the wait below returns at once instead of missing it.
        const seen = Atomics.load(this.#signal, 0);
        this.#drain();
        if (waiter.answered) return this.lookup(id);
        const remaining = deadline - performance.now();
        if (remaining <= 0) throw this.#noAnswer(timeoutMs, doing);
        Atomics.wait(this.#signal, 0, seen, remaining);
      }
    } finally {
      this.#forget(id, waiter);
    }
  }

  /** The segment, asking the other threads of the space if this one lacks it. */
  async fetch(id: string, timeoutMs: number, doing: Operation): Promise<SharedArrayBuffer | undefined> {
    const held = this.lookup(id);
    if (held !== undefined || !this.#mayAsk(id)) return held;
    const waiter = this.#ask(id);
    try {
      await new Promise<void>((resolve, reject) => {
        // A referenced timer: the answer comes through an unreferenced channel, which alone would let the thread exit meanwhile.
        const timer = setTimeout(() => reject(this.#noAnswer(timeoutMs, doing)), timeoutMs);
        waiter.wake = () => {
          clearTimeout(timer);
          resolve();
        };
        if (waiter.answered) waiter.wake();
      });
      return this.lookup(id);
    } finally {
      this.#forget(id, waiter);
    }
  }

  /** Gone for every thread at once (the header), and dropped by each as the message reaches it. */
  evict(ids: readonly string[]): void {
    this.#drain();
    // Marked before posting, so a thread that has seen the message also sees the mark.
    this.#dropAll(ids, true);
    this.#post({ op: 'evict', ids });
    this.#leaveIfDone();
  }

  /**
   * Takes segments this thread made out of the space without marking them
   * evicted, so that this thread may serve another space with their memory:
   * every other member drops them as the message reaches it.
   */
  withdraw(ids: readonly string[]): void {
    this.#drain();
    // This thread keeps the memory: nothing owed to the collector here.
    for (const id of ids) this.#segments.delete(id);
    this.#post({ op: 'withdraw', ids });
    this.#leaveIfDone();
  }

  release(): void {
    this.users--;
    this.#leaveIfDone();
  }

  /** Drops the segments of `ids` this thread holds, marking them evicted first when `mark` (an evict, not a withdrawal). */
  #dropAll(ids: readonly string[], mark: boolean): void {
    for (const id of ids) {
      const segment = this.#segments.get(id);
      if (segment === undefined) continue;
      if (mark) markEvicted(segment);
      this.#drop(id, segment);
    }
  }

  /**
   * Drops, in this thread only, the segments held that `drop` picks: the
   * others keep theirs, and this thread can ask for them again. For a thread
   * done with the space, so that what it no longer serves does not keep it in.
   */
  forget(drop: (id: string, segment: SharedArrayBuffer) => boolean): void {
    for (const [id, segment] of this.#segments) if (drop(id, segment)) this.#drop(id, segment);
    this.#leaveIfDone();
  }

  #handle(message: unknown): void {
    if (!isMessage(message)) return;
    switch (message.op) {
      case 'put':
        for (const [id, segment] of message.items) this.#adopt(id, segment, this.users > 0);
        break;
      case 'evict':
      case 'withdraw':
        this.#dropAll(message.ids, message.op === 'evict');
        this.#leaveIfDone();
        break;
      case 'want':
        this.#answer(message);
        break;
      case 'offer':
        if (message.to === threadId) this.#answered(message.id, message.segment);
        else released(payloadSize(message.segment));
        break;
      case 'missing':
        if (message.to === threadId) this.#answered(message.id, undefined);
        break;
      case 'leave':
        this.#departed.set(message.thread, message.seq);
        break;
    }
  }

  #answer({ id, from, signal }: Extract<Message, { op: 'want' }>): void {
    if (from === threadId) return;
    const segment = this.#held(id);
    const owner = ownerOf(id);
    if (segment !== undefined) this.#post({ op: 'offer', id, to: from, segment });
    else if (owner.thread === threadId || (this.#departed.get(owner.thread) ?? -1) >= owner.seq) this.#post({ op: 'missing', id, to: from });
    else return;
    // After posting: the asker reads the counter before draining, so either its
    // drain finds the answer or its wait sees the new count (Atomics are
    // sequentially consistent, and posting has queued the answer already).
    const counter = new Int32Array(signal);
    Atomics.add(counter, 0, 1);
    Atomics.notify(counter, 0);
  }

  #answered(id: string, segment: SharedArrayBuffer | undefined): void {
    const waiters = this.#waiters.get(id);
    if (segment !== undefined) this.#adopt(id, segment, waiters !== undefined);
    for (const waiter of waiters ?? []) {
      waiter.answered = true;
      waiter.wake?.();
    }
  }

  #adopt(id: string, segment: SharedArrayBuffer, keep: boolean): void {
    if (keep && isLive(segment) && !this.#segments.has(id)) this.#segments.set(id, segment);
    else released(payloadSize(segment));
  }

  /** Without draining, so it is safe while handling a message. */
  #held(id: string): SharedArrayBuffer | undefined {
    const segment = this.#segments.get(id);
    if (segment === undefined || isLive(segment)) return segment;
    this.#drop(id, segment);
    return undefined;
  }

  #drop(id: string, segment: SharedArrayBuffer): void {
    this.#segments.delete(id);
    released(payloadSize(segment));
  }

  /** An owner that no longer holds its own id, or one that has left, has nothing to ask about. */
  #mayAsk(id: string): boolean {
    const owner = ownerOf(id);
    return owner.thread !== threadId && (this.#departed.get(owner.thread) ?? -1) < owner.seq;
  }

  #ask(id: string): Waiter {
    const waiter: Waiter = { answered: false };
    let waiters = this.#waiters.get(id);
    if (waiters === undefined) this.#waiters.set(id, (waiters = new Set()));
    waiters.add(waiter);
    this.#post({ op: 'want', id, from: threadId, signal: this.#signal.buffer });
    return waiter;
  }

  #forget(id: string, waiter: Waiter): void {
    const waiters = this.#waiters.get(id);
    waiters?.delete(waiter);
    if (waiters?.size === 0) this.#waiters.delete(id);
    this.#leaveIfDone();
  }

  #drain(): void {
    if (!this.#joined) return;
    for (let received = receive(this.#channel); received !== undefined; received = receive(this.#channel)) this.#handle(received.message);
  }

  #post(message: Message): void {
    if (this.#joined) this.#channel.postMessage(message);
  }

  /** False once left: a member that has left holds nothing and hears nothing, but a connector closed earlier may still clear through it. */
  get #joined(): boolean {
    return members.get(this.space) === this;
  }

  #leaveIfDone(): void {
    if (this.users > 0 || this.#segments.size > 0 || this.#waiters.size > 0 || !this.#joined) return;
    this.#post({ op: 'leave', thread: threadId, seq: sequence.last });
    members.delete(this.space);
    this.#channel.close();
  }

  #noAnswer(timeoutMs: number, { operation, key }: Operation): ConnectorError {
    return new ConnectorError(
      'shared-memory',
      operation,
      `no thread of space '${this.space}' answered within ${timeoutMs} ms: the thread that put the object may be busy in synchronous code, blocked, or gone`,
      { key },
    );
  }
}
