import rule from '../../../eslint-plugin/rules/no-proxy-to-native.js';
import { IMPORTS, ruleTester } from '../rule-tester.js';

const NODE = "import { createHash } from 'node:crypto'; import { writeFileSync } from 'node:fs'; import { writeFile } from 'node:fs/promises';";
const DECLARE = 'declare const bytes: Proxy<Uint8Array>; declare const plain: Uint8Array; declare const shared: Proxy<Int32Array>;';
const HEAD = `${IMPORTS}\n${NODE}\n${DECLARE}`;

ruleTester.run('no-proxy-to-native', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'real buffers', code: `${HEAD}\nBuffer.from(plain); new Float64Array(plain.buffer); writeFileSync('/tmp/x', plain); Atomics.load(new Int32Array(4), 0);` },
    { name: 'extracted targets', code: `${HEAD}\nBuffer.from(extract(bytes)); createHash('sha256').update(extract(bytes)); Atomics.add(extract(shared), 0, 1);` },
    { name: 'calling methods on a proxy (bound to the target at run time)', code: `${HEAD}\nbytes.set(plain); bytes.subarray(1); shared.fill(0);` },
    { name: 'built-ins that iterate rather than read internal slots', code: `${HEAD}\nUint8Array.from(bytes); Array.from(bytes);` },
    {
      name: 'a user type alias named Proxy',
      code: `type Proxy<T> = T & { readonly brand: T };\ndeclare const bytes: Proxy<Uint8Array>;\nBuffer.from(bytes);`,
    },
    { name: 'a user class with a method named set', code: `${HEAD}\nclass Cells { set(_: Uint8Array): void {} }\nnew Cells().set(bytes);` },
  ],
  invalid: [
    {
      name: 'Buffer.from',
      code: `${HEAD}\nconst b = Buffer.from(bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'Buffer.from' },
          line: 4,
          column: 23,
          endLine: 4,
          endColumn: 28,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nconst b = Buffer.from(extract(bytes));` }],
        },
      ],
    },
    {
      name: 'Buffer.concat of an array holding a proxy',
      code: `${HEAD}\nBuffer.concat([plain, bytes]);`,
      errors: [{ messageId: 'nativeContainsProxy', data: { callee: 'Buffer.concat' }, line: 4, column: 15, endLine: 4, endColumn: 29, suggestions: [] }],
    },
    {
      name: 'typed-array constructor and set',
      code: `${HEAD}\nconst f = new Float64Array(bytes);\nplain.set(bytes, 2);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'Float64Array' },
          line: 4,
          column: 28,
          endLine: 4,
          endColumn: 33,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nconst f = new Float64Array(extract(bytes));\nplain.set(bytes, 2);` }],
        },
        {
          messageId: 'nativeProxy',
          data: { callee: 'plain.set' },
          line: 5,
          column: 11,
          endLine: 5,
          endColumn: 16,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nconst f = new Float64Array(bytes);\nplain.set(extract(bytes), 2);` }],
        },
      ],
    },
    {
      name: 'crypto and fs writes',
      code: `${HEAD}\ncreateHash('sha256').update(bytes);\nwriteFileSync('/tmp/a', bytes);\nawait writeFile('/tmp/b', bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: "createHash('sha256').update" },
          line: 4,
          column: 29,
          endLine: 4,
          endColumn: 34,
          suggestions: [
            { messageId: 'useExtract', output: `${HEAD}\ncreateHash('sha256').update(extract(bytes));\nwriteFileSync('/tmp/a', bytes);\nawait writeFile('/tmp/b', bytes);` },
          ],
        },
        {
          messageId: 'nativeProxy',
          data: { callee: 'writeFileSync' },
          line: 5,
          column: 25,
          endLine: 5,
          endColumn: 30,
          suggestions: [
            { messageId: 'useExtract', output: `${HEAD}\ncreateHash('sha256').update(bytes);\nwriteFileSync('/tmp/a', extract(bytes));\nawait writeFile('/tmp/b', bytes);` },
          ],
        },
        {
          messageId: 'nativeProxy',
          data: { callee: 'writeFile' },
          line: 6,
          column: 27,
          endLine: 6,
          endColumn: 32,
          suggestions: [
            { messageId: 'useExtract', output: `${HEAD}\ncreateHash('sha256').update(bytes);\nwriteFileSync('/tmp/a', bytes);\nawait writeFile('/tmp/b', extract(bytes));` },
          ],
        },
      ],
    },
    {
      name: 'Atomics and WebAssembly',
      code: `${HEAD}\nAtomics.add(shared, 0, 1);\nnew WebAssembly.Module(bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'Atomics.add' },
          line: 4,
          column: 13,
          endLine: 4,
          endColumn: 19,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nAtomics.add(extract(shared), 0, 1);\nnew WebAssembly.Module(bytes);` }],
        },
        {
          messageId: 'nativeProxy',
          data: { callee: 'WebAssembly.Module' },
          line: 5,
          column: 24,
          endLine: 5,
          endColumn: 29,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nAtomics.add(shared, 0, 1);\nnew WebAssembly.Module(extract(bytes));` }],
        },
      ],
    },
    {
      name: 'the fix adds extract to an existing value import of the package',
      code: `import { type Proxy } from '../../../src/index.js';\ndeclare const bytes: Proxy<Uint8Array>;\nBuffer.from(bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'Buffer.from' },
          line: 3,
          column: 13,
          endLine: 3,
          endColumn: 18,
          suggestions: [
            {
              messageId: 'useExtract',
              output: `import { type Proxy, extract } from '../../../src/index.js';\ndeclare const bytes: Proxy<Uint8Array>;\nBuffer.from(extract(bytes));`,
            },
          ],
        },
      ],
    },
    {
      name: 'the fix adds an import line next to a type-only import',
      code: `import type { Proxy } from '../../../src/index.js';\ndeclare const bytes: Proxy<Uint8Array>;\nBuffer.from(bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'Buffer.from' },
          line: 3,
          column: 13,
          endLine: 3,
          endColumn: 18,
          suggestions: [
            {
              messageId: 'useExtract',
              output: `import type { Proxy } from '../../../src/index.js';\nimport { extract } from '../../../src/index.js';\ndeclare const bytes: Proxy<Uint8Array>;\nBuffer.from(extract(bytes));`,
            },
          ],
        },
      ],
    },
    {
      name: 'the fix imports from the package name when the file has no import of it',
      code: `declare const bytes: import('../../../src/index.js').Proxy<Uint8Array>;\nBuffer.from(bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'Buffer.from' },
          line: 2,
          column: 13,
          endLine: 2,
          endColumn: 18,
          suggestions: [
            {
              messageId: 'useExtract',
              output: `import { extract } from 'ts-proxystore';\ndeclare const bytes: import('../../../src/index.js').Proxy<Uint8Array>;\nBuffer.from(extract(bytes));`,
            },
          ],
        },
      ],
    },
    {
      name: 'no suggestion when extract names something else in scope',
      code: `import type { Proxy } from '../../../src/index.js';\nconst extract = (value: unknown): unknown => value;\ndeclare const bytes: Proxy<Uint8Array>;\nBuffer.from(bytes); extract(1);`,
      errors: [{ messageId: 'nativeProxy', data: { callee: 'Buffer.from' }, line: 4, column: 13, endLine: 4, endColumn: 18, suggestions: [] }],
    },
    {
      name: 'a function listed in additionalFunctions',
      code: `${HEAD}\ndeclare function checksum(data: Uint8Array): number;\nchecksum(bytes);`,
      options: [{ additionalFunctions: [{ from: 'file', name: 'checksum' }] }],
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'checksum' },
          line: 5,
          column: 10,
          endLine: 5,
          endColumn: 15,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\ndeclare function checksum(data: Uint8Array): number;\nchecksum(extract(bytes));` }],
        },
      ],
    },
  ],
});
