import rule from '../../../eslint-plugin/rules/no-json-stringify-proxy.js';
import { IMPORTS, ruleTester } from '../rule-tester.js';

const DECLARE = 'interface Doc { id: string } declare const p: Proxy<Doc>; declare const doc: Doc;';
const HEAD = `${IMPORTS}\n${DECLARE}`;

ruleTester.run('no-json-stringify-proxy', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'plain values', code: `${HEAD}\nJSON.stringify(doc); JSON.stringify({ doc, n: 1 });` },
    { name: 'extracted values and members of a proxy', code: `${HEAD}\nJSON.stringify(extract(p)); JSON.stringify(p.id);` },
    { name: 'references on purpose', code: `${HEAD}\nJSON.stringify(encodeProxies({ p }));` },
    { name: 'a plain value with a replacer and indentation', code: `${HEAD}\nJSON.stringify(doc, null, 2);` },
    {
      name: 'a user JSON object',
      code: `${HEAD}\nconst JSON = { stringify: (value: unknown): string => String(value) };\nJSON.stringify(p);`,
    },
    {
      name: 'a user type alias named Proxy',
      code: `type Proxy<T> = T & { readonly brand: T };\ndeclare const p: Proxy<{ id: string }>;\nJSON.stringify(p);`,
    },
  ],
  invalid: [
    {
      name: 'a proxy',
      code: `${HEAD}\nconst text = JSON.stringify(p);`,
      errors: [
        {
          messageId: 'stringifyProxy',
          line: 3,
          column: 29,
          endLine: 3,
          endColumn: 30,
          suggestions: [
            { messageId: 'useExtract', output: `${HEAD}\nconst text = JSON.stringify(extract(p));` },
            { messageId: 'useEncodeProxies', output: `${HEAD}\nconst text = JSON.stringify(encodeProxies(p));` },
          ],
        },
      ],
    },
    {
      name: 'a value holding proxies, with a replacer',
      code: `${HEAD}\nJSON.stringify({ docs: [doc, p] }, null, 2);`,
      errors: [
        {
          messageId: 'stringifyContainsProxy',
          line: 3,
          column: 16,
          endLine: 3,
          endColumn: 34,
          suggestions: [{ messageId: 'useEncodeProxies', output: `${HEAD}\nJSON.stringify(encodeProxies({ docs: [doc, p] }), null, 2);` }],
        },
      ],
    },
    {
      name: 'a proxy in a union with undefined (no extract suggestion)',
      code: `${HEAD}\ndeclare const maybe: Proxy<Doc> | undefined;\nJSON.stringify(maybe);`,
      errors: [
        {
          messageId: 'stringifyProxy',
          line: 4,
          column: 16,
          endLine: 4,
          endColumn: 21,
          // extract(maybe) would not type-check: only the reference is offered.
          suggestions: [
            { messageId: 'useEncodeProxies', output: `${HEAD}\ndeclare const maybe: Proxy<Doc> | undefined;\nJSON.stringify(encodeProxies(maybe));` },
          ],
        },
      ],
    },
  ],
});
