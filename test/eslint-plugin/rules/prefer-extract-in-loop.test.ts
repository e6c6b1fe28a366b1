import rule from '../../../eslint-plugin/rules/prefer-extract-in-loop.js';
import { IMPORTS, ruleTester } from '../rule-tester.js';

const DECLARE = 'interface Grid { width: number; cells: number[] } declare const p: Proxy<Grid>; declare const grid: Grid;';
const HEAD = `${IMPORTS}\n${DECLARE}`;

ruleTester.run('prefer-extract-in-loop', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'a plain object in a loop', code: `${HEAD}\nfor (let i = 0; i < grid.width; i++) grid.cells[i] = 0;` },
    { name: 'extracted before the loop', code: `${HEAD}\nconst g = extract(p);\nfor (let i = 0; i < g.width; i++) g.cells[i] = 0;` },
    { name: 'proxy access outside loops and in a for-of iterable', code: `${HEAD}\nconst w = p.width;\nfor (const c of p.cells) void c;\nvoid w;` },
    { name: 'a proxy declared by the loop itself', code: `${HEAD}\ndeclare const all: Proxy<Grid>[];\nfor (const q of all) void q.width;` },
    { name: 'a proxy reassigned inside the loop', code: `${HEAD}\nlet q = p;\nwhile (q.width > 0) { q = p; }` },
    { name: 'inside a callback, which runs when it is called', code: `${HEAD}\nfor (let i = 0; i < 3; i++) setTimeout(() => void p.width);` },
    {
      name: 'a user type alias named Proxy',
      code: `type Proxy<T> = T & { readonly brand: T };\ndeclare const p: Proxy<{ n: number }>;\nfor (let i = 0; i < p.n; i++) void p.n;`,
    },
  ],
  invalid: [
    {
      name: 'for loop test and body report once, at the first access',
      code: `${HEAD}\nfor (let i = 0; i < p.width; i++) {\n  p.cells[i] = 0;\n}`,
      errors: [{ messageId: 'extractBeforeLoop', data: { name: 'p' }, line: 3, column: 21, endLine: 3, endColumn: 28 }],
    },
    {
      name: 'while and do-while bodies, computed access',
      code: `${HEAD}\ndeclare const list: Proxy<number[]>;\nlet i = 0;\nwhile (i < 3) { i += list[i] ?? 0; }\ndo { i--; } while (list.length > i);`,
      errors: [
        { messageId: 'extractBeforeLoop', data: { name: 'list' }, line: 5, column: 22, endLine: 5, endColumn: 29 },
        { messageId: 'extractBeforeLoop', data: { name: 'list' }, line: 6, column: 20, endLine: 6, endColumn: 31 },
      ],
    },
    {
      name: 'nested loops report the outermost loop the proxy outlives',
      code: `${HEAD}\nfor (const row of [1, 2]) {\n  for (const col of [1, 2]) void p.cells[row * col];\n}`,
      errors: [{ messageId: 'extractBeforeLoop', data: { name: 'p' }, line: 4, column: 34, endLine: 4, endColumn: 41 }],
    },
    {
      name: 'a proxy reassigned in the outer loop is reported for the inner one',
      code: `${HEAD}\nlet q = p;\nfor (const n of [1, 2]) {\n  q = p;\n  for (let i = 0; i < n; i++) void q.width;\n}`,
      errors: [{ messageId: 'extractBeforeLoop', data: { name: 'q' }, line: 6, column: 36, endLine: 6, endColumn: 43 }],
    },
    {
      name: 'a proxy parameter in a for-in body',
      code: `${HEAD}\nfunction sum(g: Proxy<Grid>, keys: Record<string, number>): number {\n  let t = 0;\n  for (const k in keys) t += g.width;\n  return t;\n}`,
      errors: [{ messageId: 'extractBeforeLoop', data: { name: 'g' }, line: 5, column: 30, endLine: 5, endColumn: 37 }],
    },
  ],
});
