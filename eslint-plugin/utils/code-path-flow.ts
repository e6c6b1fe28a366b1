/**
 * Facts that flow along ESLint's code paths, for rules that ask what happened
 * earlier on some path to a point (a move before a use) or on every path to the
 * end (a disposal). Rules record events while ESLint walks the tree; once a
 * function's code path is complete, a forward analysis runs over its segments,
 * loops and `finally` copies included.
 */
import type { TSESLint, TSESTree } from '@typescript-eslint/utils';

type Segment = TSESLint.CodePathSegment;

/** What a finished code path holds: events in traversal order, per segment. */
export interface RecordedPath<E> {
  readonly codePath: TSESLint.CodePath;
  events(segment: Segment): readonly E[];
}

export interface CodePathHooks<E> {
  /** Runs before a function's code path begins, while its enclosing path is current: the function is being created. */
  beforePath?(node: TSESTree.Node): void;
  afterPath(path: RecordedPath<E>): void;
}

export interface CodePathRecorder<E> {
  /** Code path listeners for the rule to include in its own. */
  readonly listeners: TSESLint.RuleListener;
  /** Adds an event to every segment the traversal is in (several inside `finally`); none in unreachable code. */
  record(event: E): void;
}

interface OpenPath<E> {
  readonly codePath: TSESLint.CodePath;
  readonly current: Segment[];
  readonly events: Map<string, E[]>;
}

export function recordCodePaths<E>(hooks: CodePathHooks<E>): CodePathRecorder<E> {
  const open: OpenPath<E>[] = [];
  const top = (): OpenPath<E> | undefined => open.at(-1);

  const handlers = {
    onCodePathStart(codePath: TSESLint.CodePath, node: TSESTree.Node): void {
      hooks.beforePath?.(node);
      open.push({ codePath, current: [], events: new Map() });
    },
    onCodePathEnd(): void {
      const path = open.pop();
      if (path !== undefined) hooks.afterPath({ codePath: path.codePath, events: (segment) => path.events.get(segment.id) ?? [] });
    },
    onCodePathSegmentStart(segment: Segment): void {
      top()?.current.push(segment);
    },
    onCodePathSegmentEnd(segment: Segment): void {
      const current = top()?.current ?? [];
      const at = current.indexOf(segment);
      if (at >= 0) current.splice(at, 1);
    },
  };

  return {
    // typescript-eslint's listener type has no code path handlers (typescript-eslint#6993); ESLint calls them all the same.
    listeners: handlers as unknown as TSESLint.RuleListener,
    record(event) {
      const path = top();
      if (path === undefined) return;
      for (const segment of path.current) {
        const list = path.events.get(segment.id);
        if (list === undefined) path.events.set(segment.id, [event]);
        else list.push(event);
      }
    },
  };
}

/**
 * Applies one event to the facts. It runs until the facts settle, then once
 * more per segment with `final` set: report only then, and only from there.
 */
export type FlowStep<E, K, V> = (facts: Map<K, V>, event: E, final: boolean) => void;

/**
 * A forward "may" analysis: a fact holds at a point when it holds on some path
 * reaching it (the first value found is kept). A step must decide each key by
 * that key alone, so that the facts only grow until they settle.
 * Returns the facts at the end of each reachable segment.
 */
export function flowFacts<E, K, V>(path: RecordedPath<E>, step: FlowStep<E, K, V>): ReadonlyMap<Segment, ReadonlyMap<K, V>> {
  const out = new Map<Segment, Map<K, V>>();
  const run = (segment: Segment, final: boolean): Map<K, V> => {
    const facts = new Map<K, V>();
    for (const previous of segment.prevSegments) {
      for (const [key, value] of out.get(previous) ?? []) if (!facts.has(key)) facts.set(key, value);
    }
    for (const event of path.events(segment)) step(facts, event, final);
    return facts;
  };

  const pending = [path.codePath.initialSegment];
  const queued = new Set(pending);
  for (let segment = pending.shift(); segment !== undefined; segment = pending.shift()) {
    queued.delete(segment);
    const facts = run(segment, false);
    const before = out.get(segment);
    if (before !== undefined && before.size === facts.size) continue;
    out.set(segment, facts);
    for (const next of segment.nextSegments) {
      if (!queued.has(next)) {
        queued.add(next);
        pending.push(next);
      }
    }
  }
  for (const segment of out.keys()) out.set(segment, run(segment, true));
  return out;
}
