import rule from '../../../eslint-plugin/rules/no-proxy-identity.js';
import { IMPORTS, ruleTester } from '../rule-tester.js';

const DECLARE = 'interface Doc { id: string } declare const p: Proxy<Doc>; declare const q: Proxy<Doc>; declare const doc: Doc;';

ruleTester.run('no-proxy-identity', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'plain objects compared by identity', code: `${IMPORTS}\n${DECLARE}\nconst a: Doc = doc; a === doc;` },
    { name: 'a proxy against null or undefined', code: `${IMPORTS}\ndeclare const p: Proxy<object> | undefined;\np === undefined; p != null;` },
    { name: 'members of a proxy that are primitives', code: `${IMPORTS}\n${DECLARE}\np.id === q.id;` },
    { name: 'comparing keys', code: `${IMPORTS}\n${DECLARE}\ngetKey(p) === getKey(q);` },
    { name: 'extracted values', code: `${IMPORTS}\n${DECLARE}\nextract(p) === doc; Object.is(extract(p), doc);` },
    {
      name: 'a user type alias named Proxy with its own brand',
      code: `declare const brand: unique symbol;\ninterface ProxyBrand<T> { readonly [brand]: T }\ntype Proxy<T> = T & ProxyBrand<T>;\ndeclare const p: Proxy<object>; declare const o: object;\np === o; new Set<object>().add(p);`,
    },
    { name: 'a proxy as a Map value, not a key', code: `${IMPORTS}\n${DECLARE}\nnew Map<string, Doc>().set('a', p);` },
    {
      name: 'a user collection method named like a Map one',
      code: `${IMPORTS}\n${DECLARE}\nclass Registry { has(_: Doc): boolean { return true; } }\nnew Registry().has(p);`,
    },
  ],
  invalid: [
    {
      name: 'strict equality with the target',
      code: `${IMPORTS}\n${DECLARE}\nif (p === doc) {}`,
      errors: [{ messageId: 'comparison', data: { operator: '===' }, line: 3, column: 5, endLine: 3, endColumn: 14 }],
    },
    {
      name: 'loose inequality between two proxies, proxy on the right',
      code: `${IMPORTS}\n${DECLARE}\nconst same = doc != q;`,
      errors: [{ messageId: 'comparison', data: { operator: '!=' }, line: 3, column: 14, endLine: 3, endColumn: 22 }],
    },
    {
      name: 'Object.is',
      code: `${IMPORTS}\n${DECLARE}\nObject.is(doc, p);`,
      errors: [{ messageId: 'objectIs', line: 3, column: 1, endLine: 3, endColumn: 18 }],
    },
    {
      name: 'Map, Set and WeakMap keys',
      code: `${IMPORTS}\n${DECLARE}\nconst m = new Map<Doc, number>(); m.set(p, 1);\nnew Set<Doc>().has(p);\nconst w = new WeakMap<object, number>();\nw.get(p);`,
      errors: [
        { messageId: 'collectionKey', data: { collection: 'Map' }, line: 3, column: 41, endLine: 3, endColumn: 42 },
        { messageId: 'collectionKey', data: { collection: 'Set' }, line: 4, column: 20, endLine: 4, endColumn: 21 },
        { messageId: 'collectionKey', data: { collection: 'WeakMap' }, line: 6, column: 7, endLine: 6, endColumn: 8 },
      ],
    },
    {
      name: 'ownership proxies: owned and borrowed',
      code: `${IMPORTS}\n${DECLARE}\ndeclare const owned: OwnedProxy<Doc>; declare const ref: RefProxy<Doc>;\nowned === doc; new WeakSet<object>().add(ref);`,
      errors: [
        { messageId: 'comparison', data: { operator: '===' }, line: 4, column: 1, endLine: 4, endColumn: 14 },
        { messageId: 'collectionKey', data: { collection: 'WeakSet' }, line: 4, column: 42, endLine: 4, endColumn: 45 },
      ],
    },
    {
      name: 'a proxy narrowed from a union, compared with unknown',
      code: `${IMPORTS}\ndeclare const p: Proxy<{ n: number }> | undefined; declare const other: unknown;\nif (p !== undefined && p === other) {}`,
      errors: [{ messageId: 'comparison', data: { operator: '===' }, line: 3, column: 24, endLine: 3, endColumn: 35 }],
    },
  ],
});
