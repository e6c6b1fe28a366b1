/**
 * Submit-style APIs: calls that do not take the task's arguments as their own
 * parameters but hand them on to a task function, e.g. `executor.submit(fn,
 * ...args)`. Their own signatures say nothing about proxies (`...args:
 * Parameters<F>`), so the transformer looks at the task's parameters instead:
 * an argument is wrapped when the task's parameter it lands in is annotated
 * `ProxyOr<T>`.
 *
 * Extend the list with the `submitApis` option; entries are matched by the name
 * of the called function or method. Methods declared by TypeScript's own lib
 * files never match, so `array.map(fn)` is left alone.
 */
export interface SubmitApi {
  /** Name of the function or method, e.g. 'submit'. */
  readonly method: string;
  /** Index of the argument holding the task function. */
  readonly fn: number;
  /**
   * 'spread': the arguments after the task are its arguments, in order
   * (`submit(fn, a, b)` calls `fn(a, b)`).
   * 'each': the one argument after the task is an iterable whose items are
   * each the task's first argument (`map(fn, items)` calls `fn(item)`).
   */
  readonly args: 'spread' | 'each';
  /** Only calls on receivers whose type, or a base type, has this name (e.g. 'Executor'); default any receiver. */
  readonly receiver?: string;
}

export const DEFAULT_SUBMIT_APIS: readonly SubmitApi[] = [
  // concurrent.futures-style executors, ProxyStore's own, and the executors of this package.
  { method: 'submit', fn: 0, args: 'spread' },
  { method: 'map', fn: 0, args: 'each' },
];

/** Records what is wrong with an entry from the options (such entries are ignored); true when it is usable. */
export function checkSubmitApi(entry: unknown, where: string, problems: string[]): entry is SubmitApi {
  const api = (typeof entry === 'object' && entry !== null ? entry : {}) as Partial<Record<keyof SubmitApi, unknown>>;
  const before = problems.length;
  if (typeof api.method !== 'string' || api.method === '') problems.push(`${where}.method must be a function or method name; entry ignored`);
  if (!Number.isInteger(api.fn) || (api.fn as number) < 0) problems.push(`${where}.fn must be the index of the task argument; entry ignored`);
  if (api.args !== 'spread' && api.args !== 'each') problems.push(`${where}.args must be 'spread' or 'each'; entry ignored`);
  if (api.receiver !== undefined && typeof api.receiver !== 'string') problems.push(`${where}.receiver must be a type name; entry ignored`);
  return problems.length === before;
}
