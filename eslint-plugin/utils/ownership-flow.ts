/**
 * What happens to variables holding ownership proxies along a function's code
 * paths: where they are read, assigned, captured by a closure, and ended (moved
 * across a boundary, disposed, released). The ownership rules interpret these
 * events: `no-use-after-move` looks for reads after an ending,
 * `require-owned-dispose` for paths that end without one.
 */
import { AST_NODE_TYPES, ASTUtils, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import { recordCodePaths, type RecordedPath } from './code-path-flow.js';
import { memoize } from '../../src/analysis/memoize.js';
import type { OwnershipKind } from '../../src/ownership.js';
import { isTypeWrapper, type FunctionNode } from './syntax.js';
import type { TypedRuleTools } from './typed-rule.js';

type Variable = TSESLint.Scope.Variable;
type Reference = TSESLint.Scope.Reference;

/** The kind of proxy a variable holds; `plain` for a proxy without ownership. */
export type ProxyKind = OwnershipKind | 'plain';

/** A call after which the proxies it was given must not be used. */
export interface Ending {
  readonly call: TSESTree.CallExpression;
  /** For messages: "moved by `encodeProxies(…)`". */
  readonly description: string;
  /** The kinds of proxy it ends; other kinds pass through unharmed. */
  readonly ends: ReadonlySet<ProxyKind>;
}

export type OwnershipEvent =
  | { readonly type: 'read'; readonly variable: Variable; readonly node: TSESTree.Identifier }
  /** A closure is created that reads the variable; `node` is the first read inside it. */
  | { readonly type: 'capture'; readonly variable: Variable; readonly node: TSESTree.Identifier; readonly closure: FunctionNode }
  /** `value` is the assigned expression; null when the pattern or loop says nothing about it. */
  | { readonly type: 'write'; readonly variable: Variable; readonly node: TSESTree.Identifier; readonly value: TSESTree.Expression | null }
  | { readonly type: 'end'; readonly variable: Variable; readonly node: TSESTree.Identifier; readonly ending: Ending };

// Sending moves an owner and hands a mutable borrow to the receiver; a shared borrow stays usable.
const SENT: ReadonlySet<ProxyKind> = new Set<ProxyKind>(['owned', 'ref-mut']);
const DISPOSED: ReadonlySet<ProxyKind> = new Set<ProxyKind>(['owned', 'ref', 'ref-mut']);

/** This package's functions that end the proxy in their first argument. */
const OWN_ENDINGS: ReadonlyMap<string, { verb: string; ends: ReadonlySet<ProxyKind> }> = new Map([
  ['encodeProxies', { verb: 'moved by', ends: SENT }],
  ['encodeProxiesAsync', { verb: 'moved by', ends: SENT }],
  ['intoOwned', { verb: 'handed to', ends: new Set<ProxyKind>(['plain', 'owned', 'ref', 'ref-mut']) }],
  ['dispose', { verb: 'disposed by', ends: new Set<ProxyKind>(['owned']) }],
  ['release', { verb: 'released by', ends: new Set<ProxyKind>(['ref', 'ref-mut']) }],
]);

/** Methods that send their arguments after the first (the task) to a task: this package's executors and their look-alikes. */
const DEFAULT_TASK_METHODS: readonly string[] = ['submit', 'map', 'run', 'launch'];

export interface TaskMethodsOption {
  taskMethods?: string[];
}

export const taskMethodsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    taskMethods: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      uniqueItems: true,
      description: `Functions or methods that send their arguments after the first to a task, besides ${DEFAULT_TASK_METHODS.join(', ')}.`,
    },
  },
} as const;

/** Identifiers whose value is part of what a call sends: the argument itself, or an element or property of a literal. */
function sentIdentifiers(node: TSESTree.Node, found: TSESTree.Identifier[] = []): TSESTree.Identifier[] {
  switch (node.type) {
    case AST_NODE_TYPES.Identifier:
      found.push(node);
      break;
    case AST_NODE_TYPES.ArrayExpression:
      for (const element of node.elements) if (element !== null) sentIdentifiers(element, found);
      break;
    case AST_NODE_TYPES.ObjectExpression:
      for (const property of node.properties) {
        sentIdentifiers(property.type === AST_NODE_TYPES.Property ? property.value : property, found);
      }
      break;
    case AST_NODE_TYPES.SpreadElement:
      sentIdentifiers(node.argument, found);
      break;
    default:
      if (isTypeWrapper(node)) sentIdentifiers(node.expression, found);
  }
  return found;
}

function calleeName(callee: TSESTree.Expression): string | undefined {
  if (callee.type === AST_NODE_TYPES.Identifier) return callee.name;
  if (callee.type === AST_NODE_TYPES.MemberExpression && !callee.computed && callee.property.type === AST_NODE_TYPES.Identifier) {
    return callee.property.name;
  }
  return undefined;
}

/** `x[Symbol.dispose]` or `x[Symbol.asyncDispose]`: the disposed object, else undefined. */
function disposedObject(callee: TSESTree.Expression): TSESTree.Expression | undefined {
  if (callee.type !== AST_NODE_TYPES.MemberExpression || !callee.computed) return undefined;
  const key = callee.property;
  const isDisposeKey =
    key.type === AST_NODE_TYPES.MemberExpression &&
    !key.computed &&
    key.object.type === AST_NODE_TYPES.Identifier &&
    key.object.name === 'Symbol' &&
    key.property.type === AST_NODE_TYPES.Identifier &&
    (key.property.name === 'dispose' || key.property.name === 'asyncDispose');
  return isDisposeKey ? callee.object : undefined;
}

/** Creates a function that answers, once per variable, what kind of proxy its declared type says it holds. */
export function variableKinds(tools: TypedRuleTools): (variable: Variable) => ProxyKind | undefined {
  return memoize((variable) => {
    const name = variable.defs[0]?.name;
    return name === undefined ? undefined : (tools.ownershipOf(name) ?? (tools.isProxy(name) ? 'plain' : undefined));
  });
}

/**
 * Listeners that record ownership events per code path and hand each finished
 * path to `afterPath`. `taskMethods` adds to DEFAULT_TASK_METHODS.
 */
export function ownershipFlow(
  tools: TypedRuleTools,
  taskMethods: readonly string[],
  afterPath: (path: RecordedPath<OwnershipEvent>) => void,
): TSESLint.RuleListener {
  const { sourceCode } = tools;
  const tasks = new Set([...DEFAULT_TASK_METHODS, ...taskMethods]);
  let references: Map<TSESTree.Node, Reference> | undefined;

  function referenceOf(node: TSESTree.Identifier): Reference | undefined {
    if (references === undefined) {
      references = new Map();
      for (const scope of sourceCode.scopeManager?.scopes ?? []) {
        for (const reference of scope.references) if (reference.isValueReference) references.set(reference.identifier, reference);
      }
    }
    return references.get(node);
  }

  /** Undefined for globals nobody declared. */
  function variableOf(node: TSESTree.Identifier): Variable | undefined {
    return referenceOf(node)?.resolved ?? undefined;
  }

  const recorder = recordCodePaths<OwnershipEvent>({
    beforePath(node) {
      if (!ASTUtils.isFunction(node)) return;
      const captured = new Set<Variable>();
      for (const reference of sourceCode.scopeManager?.acquire(node)?.through ?? []) {
        const { resolved: variable, identifier } = reference;
        if (variable === null || identifier.type !== AST_NODE_TYPES.Identifier || !reference.isRead()) continue;
        if (captured.has(variable)) continue;
        captured.add(variable);
        recorder.record({ type: 'capture', variable, node: identifier, closure: node });
      }
    },
    afterPath,
  });

  function endings(call: TSESTree.CallExpression): [TSESTree.Identifier[], Ending] | undefined {
    const callee = (): string => sourceCode.getText(call.callee);
    const disposed = disposedObject(call.callee);
    if (disposed !== undefined) {
      return [sentIdentifiers(disposed), { call, description: `disposed by \`${callee()}()\``, ends: DISPOSED }];
    }
    const [first, ...rest] = call.arguments;
    if (first === undefined) return undefined;
    const name = calleeName(call.callee);
    if (name !== undefined && tasks.has(name)) {
      const sent = rest.flatMap((argument) => sentIdentifiers(argument));
      // Array methods share the names; the executors' are declared elsewhere.
      if (sent.length === 0 || tools.siteOf(call)?.origin === 'lib') return undefined;
      return [sent, { call, description: `sent to a task by \`${callee()}(…)\``, ends: SENT }];
    }
    const sent = sentIdentifiers(first);
    if (sent.length === 0) return undefined;
    const site = tools.siteOf(call);
    if (site?.origin === 'lib' && site.owner === 'JSON' && site.name === 'stringify') {
      return [sent, { call, description: `moved by \`${callee()}(…)\``, ends: SENT }];
    }
    const own = site?.origin === 'self' && site.owner === undefined ? OWN_ENDINGS.get(site.name) : undefined;
    return own === undefined ? undefined : [sent, { call, description: `${own.verb} \`${callee()}(…)\``, ends: own.ends }];
  }

  function recordWrite(target: TSESTree.Node, value: TSESTree.Expression | null): void {
    if (target.type !== AST_NODE_TYPES.Identifier) return;
    const variable = variableOf(target);
    if (variable !== undefined) recorder.record({ type: 'write', variable, node: target, value });
  }

  return {
    ...recorder.listeners,
    Identifier(node) {
      const reference = referenceOf(node);
      const variable = reference?.resolved ?? undefined;
      if (reference === undefined || variable === undefined) return;
      if (reference.isRead()) recorder.record({ type: 'read', variable, node });
      // Declarations and plain assignments count once their value is computed (on exit); `??=` and `+=` do not revive.
      const assigned = node.parent.type === AST_NODE_TYPES.AssignmentExpression && node.parent.left === node;
      if (reference.isWrite() && !reference.isRead() && !assigned && node.parent.type !== AST_NODE_TYPES.VariableDeclarator) {
        recordWrite(node, null);
      }
    },
    'VariableDeclarator:exit'(node) {
      recordWrite(node.id, node.init);
    },
    'AssignmentExpression:exit'(node) {
      if (node.operator === '=') recordWrite(node.left, node.right);
    },
    'CallExpression:exit'(node) {
      const found = endings(node);
      if (found === undefined) return;
      const [identifiers, ending] = found;
      for (const identifier of identifiers) {
        const variable = variableOf(identifier);
        if (variable !== undefined) recorder.record({ type: 'end', variable, node: identifier, ending });
      }
    },
  };
}
