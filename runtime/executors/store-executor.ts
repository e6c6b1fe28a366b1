import { DEFAULT_AUTO_PROXY_THRESHOLD } from '../store/auto-proxy.js';
import type { Key } from '../connectors/connector.js';
import { ConfigError, InvalidArgumentError, describeKey } from '../errors.js';
import type { FutureOptions, ProxyFuture } from '../store/future.js';
import { getFactory, isProxy } from '../proxy/proxy.js';
import { registerStore, unregisterStore } from '../store/registry.js';
import { Store, getStore, locate } from '../store/store.js';
import { isStoreFactory } from '../store/factory.js';
import { sendsAsReference } from '../store/ownership.js';
import { signsReferences } from '../store/signing.js';
import { collectLeaves } from '../proxy/walk.js';
import {
  BaseExecutor,
  evictQuietly,
  freeProxies,
  noop,
  type AnyTasks,
  type Executor,
  type Launched,
  type ResultRequest,
  type RunOptions,
  type StoredArgs,
  type TaskArgs,
  type TaskName,
  type TaskOutcome,
  type TaskResult,
  type TaskTable,
} from './executor.js';
import { TaskError } from './errors.js';
import type { Proxy, ProxyOr } from '../../src/types.js';
import { sizeAtLeast } from '../store/size.js';
import { rejection } from '../support/promises.js';

/**
 * What a StoreExecutor call gives back: a task's object result comes back as a
 * proxy once it reaches the result threshold and by value below it, so it is
 * typed as either (`extract` takes both); primitives always come by value.
 */
export type StoreTaskResult<R> = R extends object ? ProxyOr<R> : R;

/**
 * Which top-level arguments go to the worker as proxies. Only objects can be
 * proxied; primitives always go by value, whatever the policy says.
 * - 'never' / 'always'
 * - `{ minBytes }`: at least that big, as `sizeAtLeast` judges (binary data exactly, the rest by a cheap estimate)
 * - `{ types }`: instances of any of these classes
 * - a predicate
 */
export type ShouldProxy =
  | 'never'
  | 'always'
  | { readonly minBytes: number }
  | { readonly types: readonly (abstract new (...args: never) => object)[] }
  | ((value: object) => boolean);

export interface StoreExecutorOptions {
  readonly store: Store;
  /** Default `{ minBytes: 100_000 }`. */
  readonly shouldProxy?: ShouldProxy;
  /**
   * Results at least this big (bytes) come back as proxies made in the worker,
   * in `store`. Default: the `minBytes` of `shouldProxy`, 0 for 'always',
   * `Infinity` (always by value) for 'never', else 100 kB.
   */
  readonly resultThreshold?: number;
  /**
   * Default true: the executor frees the inputs it proxied once their task has
   * settled for good, and owns the results made for it (see `release`).
   * With false it frees nothing: inputs it proxies are single-use (evicted by
   * the worker once it has fetched them, so an engine's retry cannot read
   * them again) and result proxies are the caller's to evict.
   */
  readonly ownership?: boolean;
  /** Close `store` at shutdown. Default false: the store is the caller's. */
  readonly closeStore?: boolean;
}

/** A call's arguments as they go to the engine, and how to free what was stored for them. */
interface Inputs {
  readonly sent: readonly unknown[];
  readonly stored?: StoredArgs;
  free(): Promise<void>;
}

const noopAsync = (): Promise<void> => Promise.resolve();

interface Owned {
  readonly store: Store;
  readonly key: Key;
}

/**
 * What a StoreExecutor owns, by store and then by key. A string key is looked
 * up as itself: it is the reply's own string, whose hash the store's maps have
 * already computed, where an id joining store name and key would be a new
 * string to build and hash at every look (twice a call). Other keys go by
 * their JSON, in a map of their own so that no string key can meet one.
 */
class OwnedEntries {
  readonly #byStore = new Map<Store, StoreEntries>();
  /** The executor's own store, whose maps stay; another store's go once empty, so a long-lived executor holds no store it owns nothing in. */
  readonly #home: Store;

  constructor(home: Store) {
    this.#home = home;
  }

  get(store: Store, key: Key): Owned | undefined {
    const entries = this.#byStore.get(store);
    if (entries === undefined) return undefined;
    return mapOf(entries, key).get(idOf(key));
  }

  add(entry: Owned): void {
    let entries = this.#byStore.get(entry.store);
    if (entries === undefined) this.#byStore.set(entry.store, (entries = { strings: new Map(), others: new Map() }));
    mapOf(entries, entry.key).set(idOf(entry.key), entry);
  }

  /** Whether `entry` was still there. */
  delete(entry: Owned): boolean {
    const entries = this.#byStore.get(entry.store);
    if (entries === undefined) return false;
    const map = mapOf(entries, entry.key);
    const id = idOf(entry.key);
    if (map.get(id) !== entry) return false;
    map.delete(id);
    if (entry.store !== this.#home && entries.strings.size === 0 && entries.others.size === 0) this.#byStore.delete(entry.store);
    return true;
  }

  all(): Owned[] {
    return [...this.#byStore.values()].flatMap(({ strings, others }) => [...strings.values(), ...others.values()]);
  }
}

interface StoreEntries {
  readonly strings: Map<string, Owned>;
  readonly others: Map<string, Owned>;
}

/** Where `key` is filed among one store's entries: string keys apart from all others. */
function mapOf(entries: StoreEntries, key: Key): Map<string, Owned> {
  return typeof key === 'string' ? entries.strings : entries.others;
}

/** A string key is filed as itself, any other by its JSON. */
function idOf(key: Key): string {
  return typeof key === 'string' ? key : describeKey(key);
}

/**
 * Pass-by-proxy for any executor: big arguments go to the store and travel as
 * references, big results come back the same way, and with `ownership` the
 * objects it created are freed once nothing can need them.
 *
 * ```ts
 * await using executor = new StoreExecutor(new PiscinaExecutor<typeof tasks>(pool), { store });
 * const c = await executor.submit('multiply', a, b); // a, b ≥ 100 kB go as proxies; c may be a proxy
 * ```
 *
 * Results the workers made as proxies live until `release(result)`, until
 * the caller drops every reference to them and they are garbage collected, or
 * until `shutdown()`: `extract` what must outlive the executor.
 */
export class StoreExecutor<T extends TaskTable<T> = AnyTasks> extends BaseExecutor<T> {
  readonly executor: Executor<T>;
  readonly store: Store;
  readonly ownership: boolean;
  readonly #shouldProxy: (value: object) => boolean;
  readonly #results: ResultRequest;
  readonly #closeStore: boolean;
  /** Decoded result proxies find their store by name; registering it spares them a second connection and cache. */
  readonly #registeredStore: boolean;
  readonly #owned: OwnedEntries;
  /** The proxies `#owned` was filled from, so that telling one apart reads nothing of any other proxy (an autoProxy's key is its first send). */
  readonly #ownedProxies = new WeakSet<object>();
  readonly #collected = new FinalizationRegistry<Owned>((entry) => void this.#evictOwned(entry));

  constructor(executor: Executor<T>, options: StoreExecutorOptions) {
    super();
    if (typeof (executor as Partial<Executor<T>> | null)?.launch !== 'function') {
      throw new InvalidArgumentError('executor', `StoreExecutor wraps an executor (PiscinaExecutor, BullMQExecutor, …), got ${describeKey(executor)}`);
    }
    if (!((options as Partial<StoreExecutorOptions> | null)?.store instanceof Store)) {
      throw new InvalidArgumentError('options.store', `StoreExecutor needs options.store, the Store its proxies go through, got ${describeKey((options as { store?: unknown } | null)?.store)}`);
    }
    const spec = options.shouldProxy ?? { minBytes: DEFAULT_AUTO_PROXY_THRESHOLD };
    this.executor = executor;
    this.store = options.store;
    this.#owned = new OwnedEntries(options.store);
    this.ownership = options.ownership ?? true;
    this.#shouldProxy = policyOf(spec);
    this.#results = { store: options.store, minBytes: checkedBytes('resultThreshold', options.resultThreshold ?? defaultResultThreshold(spec)) };
    this.#closeStore = options.closeStore ?? false;
    this.#registeredStore = getStore(options.store.name) === undefined;
    if (this.#registeredStore) registerStore(options.store);
  }

  protected start(task: string, args: readonly unknown[], options: RunOptions): Launched<unknown> {
    const { proxyArgs, proxyResult } = options;
    const pick = proxyArgs === undefined ? this.#shouldProxy : () => proxyArgs;
    const results = options.results ?? (proxyResult === undefined ? this.#results : { store: this.store, minBytes: proxyResult ? 0 : Infinity });
    // An engine that takes arguments by key gets them so: no proxy to make here, and no descriptor for its worker to check.
    // Signed references travel as descriptors only: keys carry no signature.
    const sending = this.executor.flags?.byKey === true && !signsReferences() ? this.#storeInputs(args, pick) : this.#proxyInputs(args, pick);
    const launched = sending.then(({ sent, stored }) =>
      this.executor.launch(task as TaskName<T>, sent as unknown as TaskArgs<T, TaskName<T>>, stored === undefined ? { ...options, results } : { ...options, results, stored }),
    );
    return { outcome: this.#outcomeOf(launched), finished: this.#finishedOf(launched, sending) };
  }

  /** The wrapped call's outcome, its proxies owned. Awaited, not chained: a `then` returning a promise costs two more turns and two more promises, every call. */
  async #outcomeOf(launched: Promise<Launched<unknown>>): Promise<TaskOutcome<unknown>> {
    return this.#adopt(await (await launched).outcome);
  }

  /** Once no worker reads the call's inputs (or it never launched): with ownership, the inputs stored for it are freed. */
  async #finishedOf(launched: Promise<Launched<unknown>>, sending: Promise<Inputs>): Promise<void> {
    try {
      await (await launched).finished;
    } catch {
      // Never launched: nothing reads the inputs.
    }
    let inputs: Inputs;
    try {
      inputs = await sending;
    } catch {
      return;
    }
    if (this.ownership) await inputs.free();
  }

  /**
   * Starts the task and hands back at once a future of its result: pass
   * `future.proxy()` to the next task straight away and that task waits for
   * the value in its worker, so a chain A → B → C runs overlapped instead of
   * one await after another. The worker writes the result (or the task's
   * error) into the future's key in this executor's store; it never travels
   * back through the caller. The object is owned like a result: freed by
   * `release(future.proxy())`, once the future is garbage collected, or at shutdown.
   */
  future<K extends TaskName<T>>(task: K, args: TaskArgs<T, K>, options: RunOptions & FutureOptions = {}): ProxyFuture<TaskResult<T, K>> {
    if (this.store.connector.reach === 'thread') {
      throw new ConfigError(`StoreExecutor.future: store '${this.store.name}' keeps objects in this thread's heap, where no worker can write a result: use a file, shared-memory, Redis or multi store`);
    }
    const { timeoutMs, pollMs, maxPollMs, metadata, evict, ...runOptions } = options;
    const future = this.store.future<TaskResult<T, K>>({
      ...(evict === undefined ? {} : { evict }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(pollMs === undefined ? {} : { pollMs }),
      ...(maxPollMs === undefined ? {} : { maxPollMs }),
      ...(metadata === undefined ? {} : { metadata }),
    });
    if (this.ownership) this.#own(future.proxy());
    const launched = this.launch(task, args, { ...runOptions, ...(timeoutMs === undefined ? {} : { timeoutMs }), future: { store: this.store, key: future.key } });
    // A task that failed in its worker set the error there; one that never finished (crash, timeout, abort) is failed here.
    launched.outcome.catch(async (error: unknown) => {
      if (!(error instanceof TaskError) && !(await future.done().catch(() => true))) await future.setError(error).catch(noop);
    });
    return future;
  }

  // Same calls as every executor's, typed with what actually comes back (a proxy or a value); ProxyOr<R> is assignable to R, so this narrows nothing away.
  override run<K extends TaskName<T>>(task: K, args: TaskArgs<T, K>, options?: RunOptions): Promise<StoreTaskResult<TaskResult<T, K>>> {
    return super.run(task, args, options) as Promise<StoreTaskResult<TaskResult<T, K>>>;
  }

  override submit<K extends TaskName<T>>(task: K, ...args: TaskArgs<T, K>): Promise<StoreTaskResult<TaskResult<T, K>>> {
    return this.run(task, args);
  }

  override map<K extends TaskName<T>>(task: K, argLists: Iterable<TaskArgs<T, K>>, options?: RunOptions): Promise<StoreTaskResult<TaskResult<T, K>>[]> {
    return super.map(task, argLists, options) as Promise<StoreTaskResult<TaskResult<T, K>>[]>;
  }

  /**
   * Frees now the owned proxies inside `values` (results of this executor);
   * other values are ignored. Arrays read from them are released too: with a
   * store that recycles memory (shared memory), they may show other objects'
   * bytes afterwards, so copy what must outlive the release.
   */
  release(...values: unknown[]): Promise<void> {
    const evictions: Promise<void>[] = [];
    try {
      for (const value of values) {
        // A result itself, the usual value, is its own only leaf: no walk, no list.
        if (isProxy(value)) this.#releaseOne(value, evictions);
        else for (const p of collectLeaves(value, isProxy)) this.#releaseOne(p, evictions);
      }
    } catch (error) {
      // Not async (one result, the usual call, frees without the extra promises), yet it fails as one would.
      return rejection(error);
    }
    return evictions.length === 1 ? (evictions[0] as Promise<void>) : Promise.all(evictions).then(noop);
  }

  #releaseOne(p: object, evictions: Promise<void>[]): void {
    const at = locate(p);
    const entry = at === undefined ? undefined : this.#owned.get(at.store, at.key);
    if (entry === undefined) return;
    entry.store.releaseViews(entry.key);
    evictions.push(this.#evictOwned(entry));
  }

  /** After the calls in flight: shuts the wrapped executor down and frees what is still owned. */
  protected async close(): Promise<void> {
    await this.executor.shutdown();
    await Promise.all(this.#owned.all().map((entry) => this.#evictOwned(entry)));
    if (this.#registeredStore) unregisterStore(this.store.name, this.store);
    if (this.#closeStore) await this.store.close();
  }

  protected override discard(made: readonly object[]): Promise<void> {
    return this.ownership ? this.release(...made) : super.discard(made);
  }

  /** `args` with the arguments the policy picks replaced by proxies, made in one batch; `free` evicts them. */
  async #proxyInputs(args: readonly unknown[], pick: (value: object) => boolean): Promise<Inputs> {
    const { picked, slotOf } = this.#pick(args, pick);
    if (picked.length === 0) return { sent: args, free: noopAsync };
    const proxies = await this.store.proxyBatch(picked, { evict: !this.ownership });
    return { sent: args.map((arg, i) => (slotOf[i] === undefined ? arg : proxies[slotOf[i]])), free: () => freeProxies(proxies) };
  }

  /**
   * The arguments the policy picks put in the store in one batch, and results
   * of earlier calls this executor owns passed on as they are, all sent by
   * key (their places in `sent` are null); `free` evicts the ones put here.
   */
  async #storeInputs(args: readonly unknown[], pick: (value: object) => boolean): Promise<Inputs> {
    const { picked, slotOf } = this.#pick(args, pick);
    const owned = args.map((arg) => this.#ownedKey(arg));
    if (picked.length === 0 && owned.every((key) => key === undefined)) return { sent: args, free: noopAsync };
    const keys = picked.length === 0 ? [] : await this.store.putBatch(picked);
    const byPosition = args.map((_, i) => {
      const slot = slotOf[i];
      return slot === undefined ? owned[i] : keys[slot];
    });
    return {
      sent: args.map((arg, i) => (byPosition[i] === undefined ? arg : null)),
      stored: { store: this.store, keys: byPosition, evict: !this.ownership },
      // One key, the usual call: its eviction itself, without a Promise.all around it.
      free: () => (keys.length === 1 ? evictQuietly(this.store, keys[0] as Key) : Promise.all(keys.map((key) => evictQuietly(this.store, key))).then(noop)),
    };
  }

  /**
   * The key of `arg` when it is a result this executor owns (in its store,
   * and so never single-use: owned only with ownership, whose inputs are not
   * evicted by the worker), undefined for anything else. A future's proxy
   * goes as a descriptor, which tells the worker to wait for its value.
   */
  #ownedKey(arg: unknown): Key | undefined {
    if (typeof arg !== 'object' || arg === null || !this.#ownedProxies.has(arg) || sendsAsReference(arg)) return undefined;
    const factory: unknown = getFactory(arg as Proxy<object>);
    if (!isStoreFactory(factory) || factory.store !== this.store || factory.wait !== undefined) return undefined;
    return this.#owned.get(this.store, factory.key) === undefined ? undefined : factory.key;
  }

  /** The arguments to send by proxy, each once (with ownership an argument given twice is stored once; single-use ones cannot be shared), and where each went. */
  #pick(args: readonly unknown[], pick: (value: object) => boolean): { picked: object[]; slotOf: (number | undefined)[] } {
    const slots = new Map<unknown, number>();
    const picked: object[] = [];
    const slotOf = args.map((arg) => {
      if (typeof arg !== 'object' || arg === null || isProxy(arg) || !pick(arg)) return undefined;
      const known = this.ownership ? slots.get(arg) : undefined;
      if (known !== undefined) return known;
      slots.set(arg, picked.length);
      return picked.push(arg) - 1;
    });
    return { picked, slotOf };
  }

  /** Takes ownership of the proxies the worker made for the call. */
  #adopt(outcome: TaskOutcome<unknown>): TaskOutcome<unknown> {
    if (this.ownership) for (const p of outcome.made) this.#own(p);
    return outcome;
  }

  #own(p: object): void {
    const at = locate(p);
    if (at === undefined || this.#owned.get(at.store, at.key) !== undefined) return;
    const entry: Owned = { store: at.store, key: at.key };
    this.#owned.add(entry);
    this.#ownedProxies.add(p);
    this.#collected.register(p, entry, entry);
  }

  #evictOwned(entry: Owned): Promise<void> {
    if (!this.#owned.delete(entry)) return Promise.resolve();
    this.#collected.unregister(entry);
    return evictQuietly(entry.store, entry.key);
  }
}

function policyOf(spec: ShouldProxy): (value: object) => boolean {
  if (typeof spec === 'function') return spec;
  if (spec === 'never') return () => false;
  if (spec === 'always') return () => true;
  if (typeof spec === 'object' && spec !== null) {
    if ('minBytes' in spec) {
      const minBytes = checkedBytes('shouldProxy.minBytes', spec.minBytes);
      return (value) => sizeAtLeast(value, minBytes);
    }
    if ('types' in spec && Array.isArray(spec.types)) return (value) => spec.types.some((type) => value instanceof type);
  }
  throw new ConfigError(`StoreExecutor: shouldProxy must be 'never', 'always', { minBytes }, { types } or a function, got ${describeKey(spec)}`);
}

function defaultResultThreshold(spec: ShouldProxy): number {
  if (spec === 'never') return Infinity;
  if (spec === 'always') return 0;
  return typeof spec === 'object' && 'minBytes' in spec ? spec.minBytes : DEFAULT_AUTO_PROXY_THRESHOLD;
}

function checkedBytes(option: string, bytes: number): number {
  if (typeof bytes === 'number' && bytes >= 0) return bytes;
  throw new ConfigError(`StoreExecutor: ${option} must be a non-negative number of bytes, got ${String(bytes)}`);
}
