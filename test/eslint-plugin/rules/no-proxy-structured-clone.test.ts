import rule from '../../../eslint-plugin/rules/no-proxy-structured-clone.js';
import { IMPORTS, ruleTester } from '../rule-tester.js';

const WORKERS = "import { Worker, MessageChannel } from 'node:worker_threads'; import v8 from 'node:v8'; import { Piscina } from 'piscina';";
const DECLARE = 'interface Doc { id: string } declare const p: Proxy<Doc>; declare const doc: Doc; declare const worker: Worker; declare const pool: Piscina;';
const HEAD = `${IMPORTS}\n${WORKERS}\n${DECLARE}`;

ruleTester.run('no-proxy-structured-clone', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'plain values', code: `${HEAD}\nstructuredClone(doc); worker.postMessage({ doc }); v8.serialize([doc]); void pool.run(doc);` },
    { name: 'encoded proxies', code: `${HEAD}\nworker.postMessage(encodeProxies({ p })); structuredClone(encodeProxies(p));` },
    { name: 'extracted values', code: `${HEAD}\nworker.postMessage(extract(p)); void pool.run({ doc: extract(p) });` },
    { name: 'a plain message with a transfer list', code: `${HEAD}\nnew MessageChannel().port1.postMessage(doc, []);` },
    {
      name: 'a user function named postMessage',
      code: `${HEAD}\nfunction postMessage(value: unknown): void { void value; }\npostMessage(p);`,
    },
    {
      name: 'a user type alias named Proxy',
      code: `${WORKERS}\ntype Proxy<T> = T & { readonly brand: T };\ndeclare const p: Proxy<{ id: string }>; declare const worker: Worker;\nworker.postMessage(p);`,
    },
    {
      name: 'a proxy inside a function-typed property is not cloned data',
      code: `${HEAD}\nstructuredClone({ load: (): Proxy<Doc> => p }.load);`,
    },
  ],
  invalid: [
    {
      name: 'structuredClone of a proxy',
      code: `${HEAD}\nconst copy = structuredClone(p);`,
      errors: [
        {
          messageId: 'cloneProxy',
          data: { callee: 'structuredClone' },
          line: 4,
          column: 30,
          endLine: 4,
          endColumn: 31,
          suggestions: [
            { messageId: 'useEncodeProxies', output: `${HEAD}\nconst copy = structuredClone(encodeProxies(p));` },
            { messageId: 'useExtract', output: `${HEAD}\nconst copy = structuredClone(extract(p));` },
          ],
        },
      ],
    },
    {
      name: 'Worker.postMessage of an object holding a proxy',
      code: `${HEAD}\nworker.postMessage({ input: p, n: 1 });`,
      errors: [
        {
          messageId: 'cloneContainsProxy',
          data: { callee: 'worker.postMessage' },
          line: 4,
          column: 20,
          endLine: 4,
          endColumn: 38,
          suggestions: [{ messageId: 'useEncodeProxies', output: `${HEAD}\nworker.postMessage(encodeProxies({ input: p, n: 1 }));` }],
        },
      ],
    },
    {
      name: 'MessagePort, BroadcastChannel and v8.serialize with arrays and maps of proxies',
      code: `${HEAD}\nnew MessageChannel().port2.postMessage([p]);\nnew BroadcastChannel('c').postMessage(new Map([['a', p]]));\nv8.serialize({ nested: { deeper: [p] } });`,
      errors: [
        {
          messageId: 'cloneContainsProxy',
          data: { callee: 'new MessageChannel().port2.postMessage' },
          line: 4,
          column: 40,
          endLine: 4,
          endColumn: 43,
          suggestions: [{ messageId: 'useEncodeProxies', output: `${HEAD}\nnew MessageChannel().port2.postMessage(encodeProxies([p]));\nnew BroadcastChannel('c').postMessage(new Map([['a', p]]));\nv8.serialize({ nested: { deeper: [p] } });` }],
        },
        {
          messageId: 'cloneContainsProxy',
          data: { callee: "new BroadcastChannel('c').postMessage" },
          line: 5,
          column: 39,
          endLine: 5,
          endColumn: 58,
          suggestions: [{ messageId: 'useEncodeProxies', output: `${HEAD}\nnew MessageChannel().port2.postMessage([p]);\nnew BroadcastChannel('c').postMessage(encodeProxies(new Map([['a', p]])));\nv8.serialize({ nested: { deeper: [p] } });` }],
        },
        {
          messageId: 'cloneContainsProxy',
          data: { callee: 'v8.serialize' },
          line: 6,
          column: 14,
          endLine: 6,
          endColumn: 41,
          suggestions: [{ messageId: 'useEncodeProxies', output: `${HEAD}\nnew MessageChannel().port2.postMessage([p]);\nnew BroadcastChannel('c').postMessage(new Map([['a', p]]));\nv8.serialize(encodeProxies({ nested: { deeper: [p] } }));` }],
        },
      ],
    },
    {
      name: 'a piscina task',
      code: `${HEAD}\nawait pool.run({ doc: p });`,
      errors: [
        {
          messageId: 'cloneContainsProxy',
          data: { callee: 'pool.run' },
          line: 4,
          column: 16,
          endLine: 4,
          endColumn: 26,
          suggestions: [{ messageId: 'useEncodeProxies', output: `${HEAD}\nawait pool.run(encodeProxies({ doc: p }));` }],
        },
      ],
    },
    {
      name: 'a function listed in additionalFunctions',
      code: `${HEAD}\ndeclare function send(message: unknown): void;\nsend(p);`,
      options: [{ additionalFunctions: [{ from: 'file', name: 'send' }] }],
      errors: [
        {
          messageId: 'cloneProxy',
          data: { callee: 'send' },
          line: 5,
          column: 6,
          endLine: 5,
          endColumn: 7,
          suggestions: [
            { messageId: 'useEncodeProxies', output: `${HEAD}\ndeclare function send(message: unknown): void;\nsend(encodeProxies(p));` },
            { messageId: 'useExtract', output: `${HEAD}\ndeclare function send(message: unknown): void;\nsend(extract(p));` },
          ],
        },
      ],
    },
  ],
});
