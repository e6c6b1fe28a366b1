import rule from '../../../eslint-plugin/rules/no-floating-resolve.js';
import { IMPORTS, ruleTester } from '../rule-tester.js';

const DECLARE = 'interface Doc { id: string } declare const p: Proxy<Doc>; declare const store: Store; declare const doc: Doc;';
const HEAD = `${IMPORTS}\n${DECLARE}`;
const FUTURES_HEAD = `${IMPORTS} import type { ProxyFuture } from '../../../src/index.js'; import type { StreamProducer } from '../../../runtime/stream/index.js';
interface Doc { id: string } declare const future: ProxyFuture<Doc>; declare const producer: StreamProducer<{ docs: Doc }>; declare const doc: Doc;`;
const FUTURES_CALLS = ['future.result();', 'future.setResult(doc);', "future.setError(new Error('x'));", "producer.send('docs', doc);", 'producer.flush();', 'producer.close();'];

ruleTester.run('no-floating-resolve', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'awaited', code: `${HEAD}\nawait resolveAsync(p); const key = await store.put(doc); await store.evict(key);` },
    { name: 'handled with a rejection handler', code: `${HEAD}\nstore.put(doc).then(() => {}, () => {});\nstore.proxy(doc).catch(() => undefined);\nresolveAsync(p).then(() => {}).catch(() => {});` },
    { name: 'deliberately dropped with void', code: `${HEAD}\nvoid resolveAsync(p);` },
    { name: 'kept for later', code: `${HEAD}\nconst pending = store.put(doc); void pending;\nPromise.all([store.put(doc)]).catch(() => {});` },
    { name: 'returned from an arrow function', code: `${HEAD}\nconst save = () => store.put(doc); void save;` },
    { name: 'a synchronous Store method', code: `${HEAD}\nstore.proxyFromKey<Doc>('k'); store.getSync('k');` },
    { name: 'awaited futures and sends; a future’s synchronous proxy()', code: `${FUTURES_HEAD}\nawait future.setResult(doc); await future.result(); future.proxy(); await producer.send('docs', doc); await producer.close();` },
    {
      name: 'user functions and classes with the same names',
      code: `class Store { async put(_: unknown): Promise<void> {} }\nasync function resolveAsync(_: unknown): Promise<void> {}\nnew Store().put(1); resolveAsync(2);`,
    },
  ],
  invalid: [
    {
      name: 'resolveAsync in an async function',
      code: `${HEAD}\nasync function run(): Promise<void> {\n  resolveAsync(p);\n}`,
      errors: [
        {
          messageId: 'floating',
          data: { callee: 'resolveAsync' },
          line: 4,
          column: 3,
          endLine: 4,
          endColumn: 18,
          suggestions: [
            { messageId: 'addAwait', output: `${HEAD}\nasync function run(): Promise<void> {\n  await resolveAsync(p);\n}` },
            { messageId: 'addVoid', output: `${HEAD}\nasync function run(): Promise<void> {\n  void resolveAsync(p);\n}` },
          ],
        },
      ],
    },
    {
      name: 'store.put, proxy and evict in a synchronous function (no await suggestion)',
      code: `${HEAD}\nfunction run(): void {\n  store.put(doc);\n  store?.proxy(doc);\n  store.evict('k');\n}`,
      errors: [
        {
          messageId: 'floating',
          data: { callee: 'store.put' },
          line: 4,
          column: 3,
          endLine: 4,
          endColumn: 17,
          suggestions: [{ messageId: 'addVoid', output: `${HEAD}\nfunction run(): void {\n  void store.put(doc);\n  store?.proxy(doc);\n  store.evict('k');\n}` }],
        },
        {
          messageId: 'floating',
          data: { callee: 'store?.proxy' },
          line: 5,
          column: 3,
          endLine: 5,
          endColumn: 20,
          suggestions: [{ messageId: 'addVoid', output: `${HEAD}\nfunction run(): void {\n  store.put(doc);\n  void store?.proxy(doc);\n  store.evict('k');\n}` }],
        },
        {
          messageId: 'floating',
          data: { callee: 'store.evict' },
          line: 6,
          column: 3,
          endLine: 6,
          endColumn: 19,
          suggestions: [{ messageId: 'addVoid', output: `${HEAD}\nfunction run(): void {\n  store.put(doc);\n  store?.proxy(doc);\n  void store.evict('k');\n}` }],
        },
      ],
    },
    {
      name: 'a then without a rejection handler, at module top level',
      code: `${HEAD}\nstore.putBatch([doc]).then((keys) => keys.length);`,
      errors: [
        {
          messageId: 'floating',
          data: { callee: 'store.putBatch' },
          line: 3,
          column: 1,
          endLine: 3,
          endColumn: 22,
          suggestions: [
            { messageId: 'addAwait', output: `${HEAD}\nawait store.putBatch([doc]).then((keys) => keys.length);` },
            { messageId: 'addVoid', output: `${HEAD}\nvoid store.putBatch([doc]).then((keys) => keys.length);` },
          ],
        },
      ],
    },
    {
      name: 'an owned proxy whose promise only has finally',
      code: `${HEAD}\nstore.ownedProxy(doc).finally(() => {});`,
      errors: [
        {
          messageId: 'floating',
          data: { callee: 'store.ownedProxy' },
          line: 3,
          column: 1,
          endLine: 3,
          endColumn: 22,
          suggestions: [
            { messageId: 'addAwait', output: `${HEAD}\nawait store.ownedProxy(doc).finally(() => {});` },
            { messageId: 'addVoid', output: `${HEAD}\nvoid store.ownedProxy(doc).finally(() => {});` },
          ],
        },
      ],
    },
    {
      name: 'a conditional expression is parenthesised by the fix',
      code: `${HEAD}\ndeclare const ready: boolean;\nready ? store.proxyBatch([doc]) : undefined;`,
      errors: [
        {
          messageId: 'floating',
          data: { callee: 'store.proxyBatch' },
          line: 4,
          column: 9,
          endLine: 4,
          endColumn: 32,
          suggestions: [
            { messageId: 'addAwait', output: `${HEAD}\ndeclare const ready: boolean;\nawait (ready ? store.proxyBatch([doc]) : undefined);` },
            { messageId: 'addVoid', output: `${HEAD}\ndeclare const ready: boolean;\nvoid (ready ? store.proxyBatch([doc]) : undefined);` },
          ],
        },
      ],
    },
    {
      name: 'a future’s result, setResult and setError, and a stream producer’s send, flush and close',
      code: `${FUTURES_HEAD}\n${FUTURES_CALLS.join('\n')}`,
      errors: ['future.result', 'future.setResult', 'future.setError', 'producer.send', 'producer.flush', 'producer.close'].map((callee, i) => ({
        messageId: 'floating' as const,
        data: { callee },
        line: 3 + i,
        column: 1,
        endLine: 3 + i,
        // The call, without its semicolon.
        endColumn: (FUTURES_CALLS[i] as string).length,
        suggestions: [
          { messageId: 'addAwait' as const, output: dropped(i, 'await ') },
          { messageId: 'addVoid' as const, output: dropped(i, 'void ') },
        ],
      })),
    },
  ],
});

/** The futures case with `prefix` before its statement number `i`. */
function dropped(i: number, prefix: string): string {
  const lines = FUTURES_CALLS.map((call, j) => (j === i ? `${prefix}${call}` : call));
  return `${FUTURES_HEAD}\n${lines.join('\n')}`;
}
