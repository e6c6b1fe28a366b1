import rule from '../../../eslint-plugin/rules/require-owned-dispose.js';
import { OWNERSHIP_HEAD as HEAD } from '../ownership-head.js';
import { ruleTester } from '../rule-tester.js';

/** Line 3 opens an async function; the body starts on line 4. */
const inFunction = (body: string): string => `${HEAD}\nasync function f() {\n${body}\n}`;
const OWN = 'await store.ownedProxy(doc)';

type Suggestion = 'useAwaitUsing' | 'useUsing';

/** The report at a declaration, with its suggestions applied to `code` (the first `const`/`let` of the body). */
function notDisposed(code: string, line: number, column: number, name: string, suggestions: readonly Suggestion[]) {
  const keyword = /^\s*(const|let) /m.exec(code.slice(HEAD.length));
  const at = HEAD.length + (keyword?.index ?? 0) + (keyword?.[0].indexOf(keyword[1] ?? '') ?? 0);
  const replaced = (text: string): string => code.slice(0, at) + text + code.slice(at + (keyword?.[1]?.length ?? 0));
  return {
    messageId: 'notDisposed' as const,
    data: { name },
    line,
    column,
    endLine: line,
    endColumn: column + name.length,
    suggestions: suggestions.map((messageId) => ({ messageId, output: replaced(messageId === 'useAwaitUsing' ? 'await using' : 'using') })),
  };
}

const neverDisposed = inFunction(`  const p = ${OWN};\n  use(p.id);`);
const oneBranch = inFunction(`  const p = ${OWN};\n  if (c) await dispose(p);`);
const syncBorrow = `${HEAD}\nfunction g(make: () => OwnedProxy<Doc>) {\n  let p = make();\n  use(borrow(p).id);\n}`;
const thrown = inFunction(`  const p = ${OWN};\n  if (c) throw new Error('not now');\n  await dispose(p);`);
const topLevel = `${HEAD}\nconst p = ${OWN};\nuse(p);`;
const inLoop = inFunction(`  for (const id of ['a', 'b']) {\n    const p = ${OWN};\n    use([id, p]);\n  }`);

ruleTester.run('require-owned-dispose', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'await using and using', code: inFunction(`  await using p = ${OWN};\n  using q = ${OWN};\n  use([p, q]);`) },
    { name: 'disposed after use', code: inFunction(`  const p = ${OWN};\n  use(p.id);\n  await dispose(p);`) },
    { name: 'disposed on one branch, moved on the other', code: inFunction(`  const p = ${OWN};\n  if (c) await dispose(p);\n  else encodeProxies({ p });`) },
    { name: 'returned', code: inFunction(`  const p = ${OWN};\n  use(p.id);\n  return p;`) },
    { name: 'disposed in a finally block', code: inFunction(`  const p = ${OWN};\n  try {\n    use(p.id);\n  } finally {\n    await free(p);\n  }`) },
    { name: 'disposed with Symbol.asyncDispose', code: inFunction(`  const p = ${OWN};\n  await p[Symbol.asyncDispose]();`) },
    { name: 'sent to a task', code: inFunction(`  const p = ${OWN};\n  await executor.submit('task', p);`) },
    {
      name: 'stored in an outer variable and in a property',
      code: `${HEAD}\nlet kept: OwnedProxy<Doc> | undefined;\nconst holder: { p?: OwnedProxy<Doc> } = {};\nasync function f() {\n  const p = ${OWN};\n  kept = p;\n  const q = ${OWN};\n  holder.p = q;\n}`,
    },
    {
      name: 'passed to functions that take an OwnedProxy',
      code: `${HEAD}\ndeclare function keep(p: OwnedProxy<Doc>): void;\ndeclare const owners: Map<string, OwnedProxy<Doc>>;\nasync function f() {\n  const p = ${OWN};\n  keep(p);\n  const q = ${OWN};\n  owners.set('q', q);\n}`,
    },
    { name: 'captured by a closure that disposes of it', code: inFunction(`  const p = ${OWN};\n  setTimeout(() => void dispose(p), 10);`) },
    { name: 'handed to another variable that is disposed', code: inFunction(`  const p = ${OWN};\n  const q = p;\n  await dispose(q);`) },
    { name: 'a plain Proxy', code: inFunction('  const p = await store.proxy(doc);\n  use(p.id);') },
    { name: 'an exported owner', code: `${HEAD}\nexport const p = ${OWN};` },
    { name: 'an owner read from a field is an alias', code: `${HEAD}\ndeclare const holder: { p: OwnedProxy<Doc> };\nconst p = holder.p;\nuse(p.id);` },
    { name: 'a task method added by the option', code: inFunction(`  const p = ${OWN};\n  queue.enqueue('task', p);`).replace('async function', 'declare const queue: { enqueue(task: string, value: unknown): void };\nasync function'), options: [{ taskMethods: ['enqueue'] }] },
  ],
  invalid: [
    {
      name: 'never disposed',
      code: neverDisposed,
      errors: [
        {
          messageId: 'notDisposed',
          data: { name: 'p' },
          line: 4,
          column: 9,
          endLine: 4,
          endColumn: 10,
          suggestions: [
            { messageId: 'useAwaitUsing', output: inFunction(`  await using p = ${OWN};\n  use(p.id);`) },
            { messageId: 'useUsing', output: inFunction(`  using p = ${OWN};\n  use(p.id);`) },
          ],
        },
      ],
    },
    { name: 'disposed on one branch only', code: oneBranch, errors: [notDisposed(oneBranch, 4, 9, 'p', ['useAwaitUsing', 'useUsing'])] },
    { name: 'only borrowed, in a function that cannot await', code: syncBorrow, errors: [notDisposed(syncBorrow, 4, 7, 'p', ['useUsing'])] },
    { name: 'left behind by a throw', code: thrown, errors: [notDisposed(thrown, 4, 9, 'p', ['useAwaitUsing', 'useUsing'])] },
    { name: 'at the top level of a module', code: topLevel, errors: [notDisposed(topLevel, 3, 7, 'p', ['useAwaitUsing', 'useUsing'])] },
    { name: 'declared in a loop body', code: inLoop, errors: [notDisposed(inLoop, 5, 11, 'p', ['useAwaitUsing', 'useUsing'])] },
    {
      name: 'returned on one path only: no suggestion, since using would dispose the returned owner',
      code: inFunction(`  const p = ${OWN};\n  if (c) return p;\n  use(p.id);`),
      errors: [{ messageId: 'notDisposed', data: { name: 'p' }, line: 4, column: 9, endLine: 4, endColumn: 10, suggestions: [] }],
    },
    {
      name: 'reassigned while owning, and the last owner disposed',
      code: inFunction(`  let p = ${OWN};\n  p = ${OWN};\n  await dispose(p);`),
      errors: [{ messageId: 'overwritten', data: { name: 'p' }, line: 5, column: 3, endLine: 5, endColumn: 4 }],
    },
  ],
});
