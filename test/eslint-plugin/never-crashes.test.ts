/**
 * Every rule over generated programs built from the constructs the rules look at
 * (proxies, natives, loops, JSON, clones, store calls): linting never throws, and
 * every suggestion leaves code that still parses.
 */
import fc from 'fast-check';
import { join } from 'node:path';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import plugin, { rules } from '../../eslint-plugin/index.js';
import { FIXTURE_DIR, FIXTURE_FILE, IMPORTS, parserOptions } from './rule-tester.js';

const HEADER = `${IMPORTS}
import { Worker } from 'node:worker_threads';
interface Doc { id: string; n: number; items: number[] }
declare const p: Proxy<Doc>; declare const doc: Doc; declare const bytes: Proxy<Uint8Array>;
declare const maybe: Proxy<Doc> | undefined; declare const list: Proxy<Doc>[];
declare const store: Store; declare const worker: Worker;
declare const owned: OwnedProxy<Doc>; declare const shared: RefProxy<Doc>;
declare function render(d: Doc): void; declare function accept(d: ProxyOr<Doc>): void;
`;

const atoms = fc.constantFrom('p', 'doc', 'bytes', 'maybe', 'list', 'store', 'undefined', '1', "'s'", 'null', 'p.items', 'list[0]', 'owned', 'shared');
const callees = fc.constantFrom(
  'JSON.stringify', 'structuredClone', 'Buffer.from', 'extract', 'resolveAsync', 'store.put', 'store.proxy', 'store.evict',
  'Object.is', 'new Map<unknown, unknown>().set', 'new Set<unknown>().has', 'worker.postMessage', 'render', 'accept',
  'getKey', 'encodeProxies', 'new Float64Array', 'Atomics.load', 'console.log', 'ArrayBuffer.isView', 'new Blob',
);

const { expression } = fc.letrec<{ expression: string }>((tie) => ({
  expression: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atoms,
    tie('expression').map((e) => `(${e}).id`),
    tie('expression').map((e) => `(${e})?.[0]`),
    fc.tuple(callees, fc.array(tie('expression'), { maxLength: 3 })).map(([f, args]) => `${f}(${args.join(', ')})`),
    fc.tuple(callees, tie('expression')).map(([f, arg]) => `${f}(${arg})`),
    fc.tuple(tie('expression'), fc.constantFrom('===', '!==', '==', '&&', '??', '+'), tie('expression')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
    fc.array(tie('expression'), { maxLength: 3 }).map((items) => `[${items.join(', ')}]`),
    fc.tuple(tie('expression'), tie('expression')).map(([a, b]) => `({ a: ${a}, ...(${b} as object) })`),
    tie('expression').map((e) => `() => ${e}`),
    tie('expression').map((e) => `(${e}).then?.(() => {})`),
    tie('expression').map((e) => `void (${e})`),
  ),
}));

const statement: fc.Arbitrary<string> = fc.letrec<{ statement: string }>((tie) => ({
  statement: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    expression.map((e) => `${e};`),
    expression.map((e) => `{ let v = ${e}; v = p; void v; }`),
    fc.tuple(expression, tie('statement')).map(([e, s]) => `for (let i = 0; i < 3 && Boolean(${e}); i++) { ${s} }`),
    fc.tuple(expression, tie('statement')).map(([e, s]) => `while (${e}) { ${s} }`),
    fc.tuple(expression, tie('statement')).map(([e, s]) => `for (const x of [${e}]) { void x; ${s} }`),
    fc.tuple(expression, tie('statement')).map(([e, s]) => `if (${e}) { ${s} } else { ${s} }`),
    fc.tuple(tie('statement'), tie('statement')).map(([a, b]) => `try { ${a} } finally { ${b} }`),
    expression.map((e) => `(${e} as any).items.push(1);`),
    tie('statement').map((s) => `async function f(a: Doc, b: ProxyOr<Doc>, c: Proxy<Doc>) { void a; void b; void c; ${s} }`),
  ),
})).statement;

const EVERY_RULE = [
  'render(p);',
  'JSON.stringify(p);',
  'structuredClone({ p });',
  'ArrayBuffer.isView(bytes);',
  'p === doc;',
  'store.put(doc);',
  'for (let i = 0; i < 3; i++) { void p.n; }',
  'encodeProxies(owned); void owned.n;',
  '(shared as Doc).n = 1;',
  '{ const mine = owned; void mine.n; }',
];

const linter = new Linter({ configType: 'flat', cwd: FIXTURE_DIR });
const config: Linter.Config[] = [
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions },
    plugins: { 'ts-proxystore': plugin },
    rules: Object.fromEntries(Object.keys(rules).map((name) => [`ts-proxystore/${name}`, 'error'])),
  },
];
const filename = join(FIXTURE_DIR, FIXTURE_FILE);

function fatalMessages(code: string): string[] {
  return linter.verify(code, config, filename).filter((m) => m.fatal === true).map((m) => m.message);
}

describe('every rule over generated code', () => {
  it('never throws, and suggestions keep the code parseable', () => {
    const reported = new Set<string>();
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 4 }), (statements) => {
        const code = `${HEADER}${statements.join('\n')}\n`;
        const messages = linter.verify(code, config, filename);
        for (const m of messages) reported.add(m.ruleId ?? 'none');
        expect(messages.filter((m) => m.fatal === true)).toEqual([]);
        for (const suggestion of messages.flatMap((m) => m.suggestions ?? [])) {
          const { range, text } = suggestion.fix;
          expect(fatalMessages(code.slice(0, range[0]) + text + code.slice(range[1]))).toEqual([]);
        }
      }),
      // The example makes every rule report at least once, whatever the random runs produce.
      { numRuns: 60, examples: [[EVERY_RULE]] },
    );
    expect([...reported].sort()).toEqual(Object.keys(rules).map((name) => `ts-proxystore/${name}`).sort());
  });
});
