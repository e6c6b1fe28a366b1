import rule from '../../../eslint-plugin/rules/no-mutate-ref-proxy.js';
import { OWNERSHIP_HEAD } from '../ownership-head.js';
import { ruleTester } from '../rule-tester.js';

/** Line 3 declares `owner` and its shared borrow `r`; cases start on line 4. */
const HEAD = `${OWNERSHIP_HEAD}\ndeclare const owner: OwnedProxy<Doc>; const r = borrow(owner);`;

const write = (line: number, column: number, target: string, ref = 'r') => ({
  messageId: 'write' as const,
  data: { target, ref },
  line,
  column,
  endLine: line,
  endColumn: column + target.length,
});

/** `callee` is the reported member, `method` its name. */
const call = (line: number, column: number, callee: string, ref = 'r') => ({
  messageId: 'mutatingCall' as const,
  data: { method: callee.slice(callee.lastIndexOf('.') + 1), ref },
  line,
  column,
  endLine: line,
  endColumn: column + callee.length,
});

const JS_CASE = [
  "import { borrow } from '../../../src/index.js';",
  "/** @param {import('../../../src/index.js').OwnedProxy<{ items: number[], n: number }>} owner */",
  'export function f(owner) {',
  '  const view = borrow(owner);',
  '  view.items.push(1);',
  '  view.n += 1;',
  '}',
].join('\n');

ruleTester.run('no-mutate-ref-proxy', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'reads through a RefProxy', code: `${HEAD}\nuse(r.items.length);\nuse(r.items.map((x) => x * 2));\nuse([...r.items].sort());` },
    { name: 'writes through a RefMutProxy', code: `${HEAD}\nconst m = mutBorrow(owner);\nm.id = 'x';\nm.items.push(1);\nm.nested.n++;` },
    { name: 'writes through a plain Proxy and through the owner', code: `${HEAD}\ndeclare const p: Proxy<Doc>;\np.id = 'x';\nowner.items.push(1);` },
    {
      name: "a method of the user's own class with a mutator's name",
      code: `${HEAD}\nclass Vec { add(other: Vec): Vec { return other; } }\ndeclare const vectors: RefProxy<{ v: Vec }>;\nuse(vectors.v.add(new Vec()));`,
    },
    { name: 'a copy of the borrowed value', code: `${HEAD}\nconst copy = structuredClone(extract(r)) as Doc;\ncopy.id = 'x';\ncopy.items.push(1);` },
    { name: 'an alias reassigned before the write', code: `${HEAD}\nlet loose: any = r;\nloose = { id: '' };\nloose.id = 'y';` },
    { name: 'the borrow variable itself reassigned', code: `${HEAD}\nlet view = borrow(owner);\nview = borrow(owner);\nuse(view);` },
    {
      name: "a look-alike of the package's ownership tag",
      code: `declare const tag: unique symbol;\ninterface OwnershipTag<K> { readonly [tag]: K }\ndeclare const r: { items: number[] } & OwnershipTag<'ref'>;\n(r as any).items = [];\nr.items.push(1);`,
    },
  ],
  invalid: [
    {
      name: 'assignments through a cast: plain, compound, update, delete and destructuring',
      code: `${HEAD}\n(r as any).id = 'x';\n(r.nested as { n: number }).n += 1;\n(r as any).nested.n++;\ndelete (r as any).nested;\n[(r as Doc).id] = ['z'];\nfor ((r as any).id of ['a']) use(r);`,
      errors: [
        write(4, 1, '(r as any).id'),
        write(5, 1, '(r.nested as { n: number }).n'),
        write(6, 1, '(r as any).nested.n'),
        write(7, 8, '(r as any).nested'),
        write(8, 2, '(r as Doc).id'),
        write(9, 6, '(r as any).id'),
      ],
    },
    {
      name: 'mutating array methods through casts',
      code: `${HEAD}\n(r.items as number[]).push(1);\n(r as any).items.sort();`,
      errors: [call(4, 1, '(r.items as number[]).push'), call(5, 1, '(r as any).items.sort')],
    },
    {
      name: 'Set, Map and Date mutators',
      code: `${HEAD}\ndeclare const kept: RefProxy<{ s: Set<string>; m: Map<string, number>; d: Date }>;\n(kept.s as Set<string>).add('a');\n(kept.m as any).delete('k');\n(kept.d as Date).setUTCHours(0);`,
      errors: [call(5, 1, '(kept.s as Set<string>).add', 'kept'), call(6, 1, '(kept.m as any).delete', 'kept'), call(7, 1, '(kept.d as Date).setUTCHours', 'kept')],
    },
    {
      name: 'variables whose initializer is the borrow, cast on the way',
      code: `${HEAD}\nconst loose = r as any;\nloose.nested.n = 2;\nconst items: number[] = (r as any).items;\nitems.reverse();`,
      errors: [write(5, 1, 'loose.nested.n'), call(7, 1, 'items.reverse')],
    },
    {
      name: 'the target extracted from the borrow',
      code: `${HEAD}\n(extract(r) as Doc).id = 'y';`,
      errors: [write(4, 1, '(extract(r) as Doc).id')],
    },
    {
      name: 'a parameter declared as a RefProxy',
      code: `${HEAD}\nfunction clear(view: RefProxy<Doc>): void {\n  (view.items as number[]).fill(0);\n}`,
      errors: [call(5, 3, '(view.items as number[]).fill', 'view')],
    },
    {
      name: 'JavaScript, typed by what borrow() returns',
      code: JS_CASE,
      filename: 'script.js',
      errors: [call(5, 3, 'view.items.push', 'view'), write(6, 3, 'view.n', 'view')],
    },
  ],
});
