import rule from '../../../eslint-plugin/rules/no-proxy-to-plain-param.js';
import { IMPORTS, ruleTester } from '../rule-tester.js';

const DECLARE = 'interface Doc { id: string } declare const p: Proxy<Doc>; declare const doc: Doc;';
const HEAD = `${IMPORTS}\n${DECLARE}`;

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
    { name: 'a plain value to a plain parameter', code: `${HEAD}\nfunction render(d: Doc): void { void d; }\nrender(doc); render(extract(p));` },
    { name: 'lib and package functions', code: `${HEAD}\nObject.keys(p); getKey(p); new Set<Doc>([p]);` },
    {
      name: 'a function listed in allow',
      code: `${HEAD}\nfunction render(d: Doc): void { void d; }\nrender(p);`,
      options: [{ allow: [{ from: 'file', name: 'render' }] }],
    },
    {
      name: "a user's own Proxy type to a plain parameter",
      code: `type Proxy<T> = T & { readonly brand: T };\ninterface Doc { id: string } declare const p: Proxy<Doc>;\nfunction render(d: Doc): void { void d; }\nrender(p);`,
    },
  ],
  invalid: [
    {
      name: 'a function parameter typed plainly',
      code: `${HEAD}\nfunction render(d: Doc): void { void d; }\nrender(p);`,
      errors: [{ messageId: 'plainParameter', data: { parameter: 'd', callee: 'render' }, line: 4, column: 8, endLine: 4, endColumn: 9 }],
    },
    {
      name: 'methods and constructors',
      code: `${HEAD}\nclass View { constructor(readonly d: Doc) {} draw(other: object): void { void other; } }\nnew View(p).draw(p);`,
      errors: [
        { messageId: 'plainParameter', data: { parameter: 'd', callee: 'View' }, line: 4, column: 10, endLine: 4, endColumn: 11 },
        { messageId: 'plainParameter', data: { parameter: 'other', callee: 'new View(p).draw' }, line: 4, column: 18, endLine: 4, endColumn: 19 },
      ],
    },
    {
      name: 'a plain rest parameter and an optional one',
      code: `${HEAD}\nfunction all(first?: Doc, ...rest: Doc[]): void { void first; void rest; }\nall(doc, doc, p);\nall(p);`,
      errors: [
        { messageId: 'plainParameter', data: { parameter: 'rest', callee: 'all' }, line: 4, column: 15, endLine: 4, endColumn: 16 },
        { messageId: 'plainParameter', data: { parameter: 'first', callee: 'all' }, line: 5, column: 5, endLine: 5, endColumn: 6 },
      ],
    },
    {
      name: "a user's own alias named ProxyOr is not this package's",
      code: `import type { Proxy } from '../../../src/index.js';\n${DECLARE}\ntype ProxyOr<T> = T | { readonly wrapped: T };\nfunction save(d: ProxyOr<Doc>): void { void d; }\nsave(p);`,
      errors: [{ messageId: 'plainParameter', data: { parameter: 'd', callee: 'save' }, line: 5, column: 6, endLine: 5, endColumn: 7 }],
    },
  ],
});
