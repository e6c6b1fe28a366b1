import rule from '../../../eslint-plugin/rules/no-proxy-to-plain-param.js';
import { IMPORTS, ruleTester } from '../rule-tester.js';

const DECLARE = 'interface Doc { id: string } declare const p: Proxy<Doc>; declare const doc: Doc; declare const shared: RefProxy<Doc>;';
const HEAD = `${IMPORTS}\n${DECLARE}`;
const reported = (parameter: string, callee: string, reason: string) => ({ messageId: 'plainParameter' as const, data: { parameter, callee, reason } });

// zod's treeifyError hands its error to a local helper that only reads `error.issues`.
const TREEIFY = `interface Issue { path: string[]; message: string }
interface ErrorLike { issues: Issue[] }
export function treeifyError(error: ProxyOr<ErrorLike>): string[] {
  const result: string[] = [];
  const processError = (error: { issues: Issue[] }, path: string[] = []): void => {
    for (const issue of error.issues) result.push([...path, ...issue.path].join('.') + issue.message);
  };
  processError(error);
  return result;
}`;

ruleTester.run('no-proxy-to-plain-param', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'a ProxyOr parameter', code: `${HEAD}\nfunction save(d: ProxyOr<Doc>): void { void d; }\nsave(p);` },
    { name: 'an optional ProxyOr parameter', code: `${HEAD}\nfunction save(d?: ProxyOr<Doc>): void { void d; }\nsave(p);` },
    { name: 'a ProxyOr rest parameter', code: `${HEAD}\nfunction save(...ds: ProxyOr<Doc>[]): void { void ds; }\nsave(doc, p);` },
    {
      name: 'aliases of ProxyOr, plain and generic, and a renamed import',
      code: `import type { ProxyOr as Either } from '../../../src/index.js';\n${HEAD}\ntype Input = ProxyOr<Doc>; type In<T> = Either<T> | undefined;\nfunction a(d: Input): void { void d; }\nfunction b(d: In<Doc>): void { void d; }\na(p); b(p);`,
    },
    {
      name: 'parameters typed as proxies, generic, unknown, or untyped',
      code: `${HEAD}\nfunction a(d: Proxy<Doc>): void { void d; }\nfunction b<T>(d: T): T { return d; }\nfunction c(d: unknown): void { void d; }\nconst e = function (d) { void d; };\na(p); b(p); c(p); e(p);`,
    },
    { name: 'a plain value to a plain parameter', code: `${HEAD}\nfunction render(d: Doc): void { seen.add(d); }\nconst seen = new Set<Doc>();\nrender(doc); render(extract(p));` },
    { name: 'lib and package functions', code: `${HEAD}\nObject.keys(p); getKey(p); new Set<Doc>([p]);` },
    {
      name: 'a function listed in allow',
      code: `${HEAD}\nfunction render(d: Doc): boolean { return d === doc; }\nrender(p);`,
      options: [{ allow: [{ from: 'file', name: 'render' }] }],
    },
    {
      name: "a user's own Proxy type to a plain parameter",
      code: `type Proxy<T> = T & { readonly brand: T };\ninterface Doc { id: string } declare const p: Proxy<Doc>;\nfunction render(d: Doc): boolean { return d === p; }\nrender(p);`,
    },
    { name: "a helper that only reads what it is given (zod's treeifyError → processError)", code: `${IMPORTS}\n${TREEIFY}` },
    {
      name: 'reads, method calls, iteration, returns, and passing on to a helper that reads',
      code: `${HEAD}\nfunction title(d: Doc): string { const { id } = d; return \`\${d.id}\${id}\${d.toString()}\${Object.keys({ ...d }).length}\`; }\nfunction outer(d: Doc): Doc { const alias = d; void title(alias); return d ?? doc; }\nouter(p); title(p);`,
    },
    {
      name: 'a helper in another file that only reads',
      code: `${IMPORTS}\nimport { label, type Shelf } from './helpers.js';\ndeclare const shelf: Proxy<Shelf>;\nlabel(shelf);`,
    },
    { name: 'a write through an owning or plain proxy reaches its target', code: `${HEAD}\nfunction rename(d: Doc): void { d.id = 'x'; }\nrename(p);` },
    { name: 'comparing with a primitive is not an identity check', code: `${HEAD}\nfunction isEmpty(d: Doc): boolean { return d.id === '' || d === undefined; }\nisEmpty(p);` },
  ],
  invalid: [
    {
      name: 'a helper that compares by identity',
      code: `${HEAD}\nfunction isCurrent(d: Doc): boolean { return d === doc; }\nisCurrent(p);`,
      errors: [{ ...reported('d', 'isCurrent', 'compares it by identity (line 3)'), line: 4, column: 11, endLine: 4, endColumn: 12 }],
    },
    {
      name: 'a helper that hands the value to a built-in needing the real object',
      code: `${IMPORTS}\ndeclare const bytes: Proxy<Uint8Array<ArrayBuffer>>;\nfunction bodySize(body: BodyInit): number {\n  return ArrayBuffer.isView(body) ? body.byteLength : 0;\n}\nbodySize(bytes);`,
      errors: [
        {
          ...reported('body', 'bodySize', 'hands it to a built-in that needs a real `ArrayBuffer.isView` (line 4)'),
          line: 6,
          column: 10,
          endLine: 6,
          endColumn: 15,
        },
      ],
    },
    {
      name: 'followed through helpers: a Set key two calls down',
      code: `${HEAD}\nconst seen = new Set<Doc>();\nfunction remember(d: Doc): void { seen.add(d); }\nfunction visit(d: Doc): void { remember(d); }\nvisit(p);`,
      errors: [
        {
          ...reported('d', 'visit', 'passes it to `remember` (line 5), which compares it by identity (line 4)'),
          line: 6,
          column: 7,
          endLine: 6,
          endColumn: 8,
        },
      ],
    },
    {
      name: 'structured clone and JSON in the helper',
      code: `${HEAD}\nfunction copy(d: Doc): Doc { return structuredClone(d); }\nfunction text(d: Doc): string { return JSON.stringify(d); }\ncopy(p); text(p);`,
      errors: [
        { ...reported('d', 'copy', 'structured-clones it with `structuredClone` (line 3)'), line: 5, column: 6, endLine: 5, endColumn: 7 },
        { ...reported('d', 'text', 'JSON-encodes it (line 4)'), line: 5, column: 15, endLine: 5, endColumn: 16 },
      ],
    },
    {
      name: 'a write through a shared borrow',
      code: `${HEAD}\nfunction rename(d: Doc): void { d.id = 'x'; }\nrename(shared); rename(p);`,
      errors: [{ ...reported('d', 'rename', 'writes to it (line 3), which a shared borrow must not'), line: 4, column: 8, endLine: 4, endColumn: 14 }],
    },
    {
      name: 'kept in a field, or a body the rule cannot read',
      code: `${HEAD}\nclass View { constructor(readonly d: Doc) {} }\ndeclare function render(d: Doc): void;\nnew View(p); render(p);`,
      errors: [
        { ...reported('d', 'View', 'keeps it where this rule cannot follow it (line 3)'), line: 5, column: 10, endLine: 5, endColumn: 11 },
        { ...reported('d', 'render', 'has no body this rule can read (line 4)'), line: 5, column: 21, endLine: 5, endColumn: 22 },
      ],
    },
    {
      name: 'kept in an object literal, written out or shorthand',
      code: `${HEAD}\nfunction longhand(d: Doc): object { return { d: d }; }\nfunction shorthand(d: Doc): object { const o = { d }; return o; }\nlonghand(p); shorthand(p);`,
      errors: [
        { ...reported('d', 'longhand', 'keeps it where this rule cannot follow it (line 3)'), line: 5, column: 10, endLine: 5, endColumn: 11 },
        { ...reported('d', 'shorthand', 'keeps it where this rule cannot follow it (line 4)'), line: 5, column: 24, endLine: 5, endColumn: 25 },
      ],
    },
    {
      name: 'a plain rest parameter and an optional one',
      code: `${HEAD}\nconst all = new Map<Doc, number>();\nfunction count(first?: Doc, ...rest: Doc[]): void { all.set(first!, 1); for (const d of rest) all.set(d, 1); rest.push(first!); }\ncount(doc, doc, p);\ncount(p);`,
      errors: [
        { ...reported('rest', 'count', 'compares it by identity (line 4)'), line: 5, column: 17, endLine: 5, endColumn: 18 },
        { ...reported('first', 'count', 'compares it by identity (line 4)'), line: 6, column: 7, endLine: 6, endColumn: 8 },
      ],
    },
    {
      name: 'a helper in another file that keeps the value',
      code: `${IMPORTS}\nimport { keep, type Shelf } from './helpers.js';\ndeclare const shelf: Proxy<Shelf>;\nkeep(shelf);`,
      errors: [{ ...reported('shelf', 'keep', 'keeps it where this rule cannot follow it (helpers.ts:13)'), line: 4, column: 6, endLine: 4, endColumn: 11 }],
    },
    {
      name: "a user's own alias named ProxyOr is not this package's",
      code: `import type { Proxy } from '../../../src/index.js';\n${DECLARE}\ntype ProxyOr<T> = T | { readonly wrapped: T };\nfunction save(d: ProxyOr<Doc>): boolean { return d === doc; }\nsave(p);`,
      errors: [{ ...reported('d', 'save', 'compares it by identity (line 4)'), line: 5, column: 6, endLine: 5, endColumn: 7 }],
    },
  ],
});
