import rule from '../../../eslint-plugin/rules/no-use-after-move.js';
import { OWNERSHIP_HEAD as HEAD } from '../ownership-head.js';
import { ruleTester } from '../rule-tester.js';

/** Line 3 opens `async function f(p: OwnedProxy<Doc>)`; the body starts on line 4. */
const inFunction = (body: string): string => `${HEAD}\nasync function f(p: OwnedProxy<Doc>) {\n${body}\n}`;

const moved = (line: number, column: number, name: string, ending: string, movedOn: number) => ({
  messageId: 'usedAfterMove' as const,
  data: { name, ending, line: movedOn },
  line,
  column,
  endLine: line,
  endColumn: column + name.length,
});

ruleTester.run('no-use-after-move', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'uses before the move', code: inFunction('  use(p.id);\n  encodeProxies(p);') },
    { name: 'a move in one branch and a use in the other', code: inFunction('  if (c) encodeProxies(p);\n  else use(p.id);') },
    { name: 'a move on a path that returns', code: inFunction('  if (c) {\n    await dispose(p);\n    return;\n  }\n  use(p.id);') },
    { name: 'reassignment revives the variable', code: inFunction('  let q = p;\n  encodeProxies(q);\n  q = await store.ownedProxy(doc);\n  use(q.id);') },
    {
      name: 'a plain Proxy sent to a task or encoded stays usable',
      code: `${HEAD}\ndeclare const q: Proxy<Doc>;\nencodeProxies(q);\nJSON.stringify({ q });\nvoid executor.submit('task', q);\nuse(q.id);`,
    },
    {
      name: 'a shared borrow sent to a task stays usable',
      code: inFunction("  const r = borrow(p);\n  await executor.submit('task', r);\n  use(r.id);"),
    },
    { name: 'a fresh binding on every loop iteration', code: `${HEAD}\ndeclare const owners: OwnedProxy<Doc>[];\nfor (const o of owners) encodeProxies(o);` },
    {
      name: 'a declaration in a loop body, disposed in each iteration',
      code: `${HEAD}\nfor (let i = 0; i < 3; i++) {\n  const o = await store.ownedProxy(doc);\n  use(o.id);\n  await dispose(o);\n}`,
    },
    { name: 'a declared function reading the owner: it runs when called', code: inFunction('  function later() { return p.id; }\n  encodeProxies(p);\n  void later;') },
    { name: 'a closure created before the move', code: inFunction('  const later = () => p.id;\n  encodeProxies(p);\n  void later;') },
    { name: 'array methods share the names of task methods', code: inFunction('  [1, 2].map(use, p);\n  use(p.id);') },
    {
      name: "a function of the user's named dispose",
      code: `import { type OwnedProxy } from '../../../src/index.js';\ndeclare function dispose(value: unknown): void;\ndeclare const p: OwnedProxy<{ id: string }>;\ndispose(p);\nvoid p.id;`,
    },
    { name: 'a member of the owner sent, not the owner', code: inFunction('  encodeProxies({ id: p.id });\n  use(p.id);') },
    { name: 'a method not in the task list', code: inFunction('  const queue = { enqueue: (task: string, value: unknown) => [task, value] };\n  queue.enqueue("task", p);\n  use(p.id);') },
  ],
  invalid: [
    {
      name: 'encoded, then read',
      code: inFunction('  encodeProxies(p);\n  use(p.id);'),
      errors: [moved(5, 7, 'p', 'moved by `encodeProxies(…)`', 4)],
    },
    {
      name: 'stringified inside an object, then read',
      code: inFunction('  const text = JSON.stringify({ owner: p });\n  use(text);\n  return p;'),
      errors: [moved(6, 10, 'p', 'moved by `JSON.stringify(…)`', 4)],
    },
    {
      name: 'disposed through an alias of the import, then read',
      code: inFunction('  await free(p);\n  use(p);'),
      errors: [moved(5, 7, 'p', 'disposed by `free(…)`', 4)],
    },
    {
      name: 'sent to a task with submit and with map',
      code: inFunction("  const q = await store.ownedProxy(doc);\n  await executor.submit('scale', p, 2);\n  await executor.map('scale', [[q, 1]]);\n  use([p, q]);"),
      errors: [
        moved(7, 8, 'p', 'sent to a task by `executor.submit(…)`', 5),
        moved(7, 11, 'q', 'sent to a task by `executor.map(…)`', 6),
      ],
    },
    {
      name: 'disposed with Symbol.dispose, then captured by a closure',
      code: inFunction('  p[Symbol.dispose]();\n  setTimeout(() => use(p));'),
      errors: [moved(5, 24, 'p', 'disposed by `p[Symbol.dispose]()`', 4)],
    },
    {
      name: 'a borrow handed to intoOwned, a released one, and a sent mutable borrow',
      code: inFunction(
        "  const r = borrow(p);\n  const own = await intoOwned(r);\n  use(r.id);\n  release(r);\n  await dispose(own);\n  const m = mutBorrow(p);\n  await executor.submit('task', m);\n  use(m);",
      ),
      errors: [
        moved(6, 7, 'r', 'handed to `intoOwned(…)`', 5),
        moved(7, 11, 'r', 'handed to `intoOwned(…)`', 5),
        moved(11, 7, 'm', 'sent to a task by `executor.submit(…)`', 10),
      ],
    },
    {
      name: 'moved on one branch, used after the branches join',
      code: inFunction('  if (c) encodeProxies(p);\n  use(p.id);'),
      errors: [moved(5, 7, 'p', 'moved by `encodeProxies(…)`', 4)],
    },
    {
      name: 'moved in an earlier iteration of a loop',
      code: inFunction('  for (let i = 0; i < 3; i++) {\n    encodeProxies({ i, p });\n  }'),
      errors: [moved(5, 24, 'p', 'moved by `encodeProxies(…)`', 5)],
    },
    {
      name: 'moved and used inside a closure of its own',
      code: `${HEAD}\nconst send = (o: OwnedProxy<Doc>) => {\n  encodeProxies(o);\n  return o.id;\n};`,
      errors: [moved(5, 10, 'o', 'moved by `encodeProxies(…)`', 4)],
    },
    {
      name: 'used in a finally block after a move in the try block',
      code: inFunction('  try {\n    encodeProxies(p);\n  } finally {\n    use(p);\n  }'),
      errors: [moved(7, 9, 'p', 'moved by `encodeProxies(…)`', 5)],
    },
    {
      name: 'a task method added by the option',
      code: inFunction("  const queue = { enqueue: (task: string, value: unknown) => [task, value] };\n  queue.enqueue('task', p);\n  use(p.id);"),
      options: [{ taskMethods: ['enqueue'] }],
      errors: [moved(6, 7, 'p', 'sent to a task by `queue.enqueue(…)`', 5)],
    },
  ],
});
