import rule from '../../../eslint-plugin/rules/no-proxy-to-native.js';
import { IMPORTS, ruleTester } from '../rule-tester.js';

const NODE = "import { createHash } from 'node:crypto'; import { writeFileSync } from 'node:fs'; import { writeFile } from 'node:fs/promises';";
const DECLARE = 'declare const bytes: Proxy<Uint8Array<ArrayBuffer>>; declare const plain: Uint8Array<ArrayBuffer>; declare const shared: Proxy<Int32Array>;';
const HEAD = `${IMPORTS}\n${NODE}\n${DECLARE}`;

ruleTester.run('no-proxy-to-native', rule, {
  assertionOptions: { requireLocation: true },
  valid: [
    { name: 'real buffers', code: `${HEAD}\nBuffer.from(plain); new Float64Array(plain.buffer); writeFileSync('/tmp/x', plain); Atomics.load(new Int32Array(4), 0);` },
    { name: 'extracted targets', code: `${HEAD}\nBuffer.from(extract(bytes)); createHash('sha256').update(extract(bytes)); Atomics.add(extract(shared), 0, 1);` },
    { name: 'calling methods on a proxy (bound to the target at run time)', code: `${HEAD}\nbytes.set(plain); bytes.subarray(1); shared.fill(0);` },
    {
      name: 'built-ins whose parameters take any array-like copy a proxy element by element (slow, but right)',
      code: `${HEAD}\nUint8Array.from(bytes); Array.from(bytes); Buffer.from(bytes); new Float64Array(bytes); plain.set(bytes);`,
    },
    {
      name: 'a proxy of a record where the built-in also takes records',
      code: `${HEAD}\ndeclare const query: Proxy<Record<string, string>>;\nnew URLSearchParams(query);`,
    },
    { name: 'structured clone is left to no-proxy-structured-clone', code: `${HEAD}\nstructuredClone(bytes);` },
    {
      name: 'a user type alias named Proxy',
      code: `type Proxy<T> = T & { readonly brand: T };\ndeclare const bytes: Proxy<Uint8Array>;\nBuffer.from(bytes);`,
    },
    { name: 'a user class with a method named set', code: `${HEAD}\nclass Cells { set(_: Uint8Array): void {} }\nnew Cells().set(bytes);` },
    {
      name: 'a proxy handed to functions of the program that use it as the proxy it is, or hand a built-in its target',
      code: `${HEAD}\nfunction sizeOf(b: Uint8Array): number { return b.length + b[0]!; }\nfunction blobOf(b: Uint8Array): Blob { return new Blob([extract(b)]); }\nsizeOf(bytes); blobOf(bytes);`,
    },
    {
      name: 'a proxy handed to functions of the program that take anything and ask at run time what they got',
      code: `${HEAD}\nfunction kind(v: unknown): string { return ArrayBuffer.isView(v) ? 'bytes' : 'other'; }\nfunction kindOf<T>(v: T): string { return kind(v); }\nkind(bytes); kindOf(bytes);`,
    },
    {
      name: 'a list built first of real objects and extracted targets',
      code: `${HEAD}\nconst parts: BlobPart[] = [plain];\nparts.push(extract(bytes), ...[plain]);\nparts.unshift('head');\nnew Blob(parts);`,
    },
  ],
  invalid: [
    {
      name: 'TextDecoder#decode (a BufferSource parameter)',
      code: `${HEAD}\nconst text = new TextDecoder().decode(bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'new TextDecoder().decode', why: 'its `AllowSharedBufferSource` parameter includes `ArrayBufferView`' },
          line: 4,
          column: 39,
          endLine: 4,
          endColumn: 44,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nconst text = new TextDecoder().decode(extract(bytes));` }],
        },
      ],
    },
    {
      name: 'a built-in listed by name behind a function of the program is named as the reason, not its generic parameter type',
      code: `${HEAD}\nfunction clones(b: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> { return structuredClone(b); }\nclones(bytes);`,
      errors: [
        {
          messageId: 'nativeThroughFunction',
          data: { callee: 'clones', parameter: 'b', builtIn: 'structuredClone', why: '`structuredClone` reads internal slots' },
          line: 5,
          column: 8,
          endLine: 5,
          endColumn: 13,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nfunction clones(b: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> { return structuredClone(b); }\nclones(extract(bytes));` }],
        },
      ],
    },
    {
      name: 'a proxy handed to a function of the program whose parameter reaches a built-in, however deep',
      code: `${HEAD}\nfunction blobOf(b: Uint8Array<ArrayBuffer>): Blob { return new Blob([b]); }\nfunction sizeOf(bytes: Uint8Array<ArrayBuffer>): number { return blobOf(bytes).size; }\nsizeOf(bytes);`,
      errors: [
        {
          messageId: 'nativeThroughFunction',
          data: { callee: 'sizeOf', parameter: 'bytes', builtIn: 'new Blob', why: 'its parameter takes `ArrayBufferView`' },
          line: 6,
          column: 8,
          endLine: 6,
          endColumn: 13,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nfunction blobOf(b: Uint8Array<ArrayBuffer>): Blob { return new Blob([b]); }\nfunction sizeOf(bytes: Uint8Array<ArrayBuffer>): number { return blobOf(bytes).size; }\nsizeOf(extract(bytes));` }],
        },
      ],
    },
    {
      name: 'a list built first, whose declared type hides the proxy put in it',
      code: `${HEAD}\nconst parts: BlobPart[] = ['head', bytes];\nparts.push(plain, bytes);\nnew Blob(parts);`,
      errors: [
        {
          messageId: 'nativeListGetsProxy',
          data: { list: 'parts', callee: 'Blob', why: 'its parameter takes `ArrayBuffer`' },
          line: 4,
          column: 36,
          endLine: 4,
          endColumn: 41,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nconst parts: BlobPart[] = ['head', extract(bytes)];\nparts.push(plain, bytes);\nnew Blob(parts);` }],
        },
        {
          messageId: 'nativeListGetsProxy',
          data: { list: 'parts', callee: 'Blob', why: 'its parameter takes `ArrayBuffer`' },
          line: 5,
          column: 19,
          endLine: 5,
          endColumn: 24,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nconst parts: BlobPart[] = ['head', bytes];\nparts.push(plain, extract(bytes));\nnew Blob(parts);` }],
        },
      ],
    },
    {
      name: 'Buffer.concat of an array holding a proxy',
      code: `${HEAD}\nBuffer.concat([plain, bytes]);`,
      errors: [{ messageId: 'nativeContainsProxy', data: { callee: 'Buffer.concat', why: 'its parameter takes `Uint8Array`' }, line: 4, column: 15, endLine: 4, endColumn: 29, suggestions: [] }],
    },
    {
      name: 'the built-ins of the issue: isView, encodeInto, Blob parts, Response bodies',
      code: `${HEAD}\nArrayBuffer.isView(bytes);\nnew TextEncoder().encodeInto('x', bytes);\nnew Blob([bytes]);\nnew Response(bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'ArrayBuffer.isView', why: '`ArrayBuffer.isView` reads internal slots' },
          line: 4,
          column: 20,
          endLine: 4,
          endColumn: 25,
          suggestions: [
            { messageId: 'useExtract', output: `${HEAD}\nArrayBuffer.isView(extract(bytes));\nnew TextEncoder().encodeInto('x', bytes);\nnew Blob([bytes]);\nnew Response(bytes);` },
          ],
        },
        {
          messageId: 'nativeProxy',
          data: { callee: 'new TextEncoder().encodeInto', why: 'its parameter takes `Uint8Array`' },
          line: 5,
          column: 35,
          endLine: 5,
          endColumn: 40,
          suggestions: [
            { messageId: 'useExtract', output: `${HEAD}\nArrayBuffer.isView(bytes);\nnew TextEncoder().encodeInto('x', extract(bytes));\nnew Blob([bytes]);\nnew Response(bytes);` },
          ],
        },
        { messageId: 'nativeContainsProxy', data: { callee: 'Blob', why: 'its parameter takes `ArrayBufferView`' }, line: 6, column: 10, endLine: 6, endColumn: 17, suggestions: [] },
        {
          messageId: 'nativeProxy',
          data: { callee: 'Response', why: 'its `BodyInit` parameter includes `ArrayBufferView`' },
          line: 7,
          column: 14,
          endLine: 7,
          endColumn: 19,
          suggestions: [
            { messageId: 'useExtract', output: `${HEAD}\nArrayBuffer.isView(bytes);\nnew TextEncoder().encodeInto('x', bytes);\nnew Blob([bytes]);\nnew Response(extract(bytes));` },
          ],
        },
      ],
    },
    {
      name: "a ProxyOr parameter reaching a built-in (ky's getBodySize)",
      code: `${IMPORTS}\nfunction getBodySize(body: ProxyOr<BodyInit>): number {\n  return ArrayBuffer.isView(body) ? body.byteLength : 0;\n}`,
      errors: [{ messageId: 'nativeProxy', data: { callee: 'ArrayBuffer.isView', why: '`ArrayBuffer.isView` reads internal slots' }, line: 3, column: 29, endLine: 3, endColumn: 33, suggestions: [] }],
    },
    {
      name: 'crypto and fs writes',
      code: `${HEAD}\ncreateHash('sha256').update(bytes);\nwriteFileSync('/tmp/a', bytes);\nawait writeFile('/tmp/b', bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: "createHash('sha256').update", why: 'its `BinaryLike` parameter includes `Uint8Array`' },
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
          data: { callee: 'writeFileSync', why: 'its parameter takes `Uint8Array`' },
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
          data: { callee: 'writeFile', why: 'its parameter takes `Uint8Array`' },
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
          data: { callee: 'Atomics.add', why: 'its parameter takes `Int32Array`' },
          line: 4,
          column: 13,
          endLine: 4,
          endColumn: 19,
          suggestions: [{ messageId: 'useExtract', output: `${HEAD}\nAtomics.add(extract(shared), 0, 1);\nnew WebAssembly.Module(bytes);` }],
        },
        {
          messageId: 'nativeProxy',
          data: { callee: 'WebAssembly.Module', why: 'its `BufferSource` parameter includes `ArrayBufferView`' },
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
      code: `import { type Proxy } from '../../../src/index.js';\ndeclare const bytes: Proxy<Uint8Array>;\nArrayBuffer.isView(bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'ArrayBuffer.isView', why: '`ArrayBuffer.isView` reads internal slots' },
          line: 3,
          column: 20,
          endLine: 3,
          endColumn: 25,
          suggestions: [
            {
              messageId: 'useExtract',
              output: `import { type Proxy, extract } from '../../../src/index.js';\ndeclare const bytes: Proxy<Uint8Array>;\nArrayBuffer.isView(extract(bytes));`,
            },
          ],
        },
      ],
    },
    {
      name: 'the fix adds an import line next to a type-only import',
      code: `import type { Proxy } from '../../../src/index.js';\ndeclare const bytes: Proxy<Uint8Array>;\nArrayBuffer.isView(bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'ArrayBuffer.isView', why: '`ArrayBuffer.isView` reads internal slots' },
          line: 3,
          column: 20,
          endLine: 3,
          endColumn: 25,
          suggestions: [
            {
              messageId: 'useExtract',
              output: `import type { Proxy } from '../../../src/index.js';\nimport { extract } from '../../../src/index.js';\ndeclare const bytes: Proxy<Uint8Array>;\nArrayBuffer.isView(extract(bytes));`,
            },
          ],
        },
      ],
    },
    {
      name: 'the fix imports from the package name when the file has no import of it',
      code: `declare const bytes: import('../../../src/index.js').Proxy<Uint8Array>;\nArrayBuffer.isView(bytes);`,
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'ArrayBuffer.isView', why: '`ArrayBuffer.isView` reads internal slots' },
          line: 2,
          column: 20,
          endLine: 2,
          endColumn: 25,
          suggestions: [
            {
              messageId: 'useExtract',
              output: `import { extract } from 'ts-proxystore';\ndeclare const bytes: import('../../../src/index.js').Proxy<Uint8Array>;\nArrayBuffer.isView(extract(bytes));`,
            },
          ],
        },
      ],
    },
    {
      name: 'no suggestion when extract names something else in scope',
      code: `import type { Proxy } from '../../../src/index.js';\nconst extract = (value: unknown): unknown => value;\ndeclare const bytes: Proxy<Uint8Array>;\nArrayBuffer.isView(bytes); extract(1);`,
      errors: [{ messageId: 'nativeProxy', data: { callee: 'ArrayBuffer.isView', why: '`ArrayBuffer.isView` reads internal slots' }, line: 4, column: 20, endLine: 4, endColumn: 25, suggestions: [] }],
    },
    {
      name: 'a function listed in additionalFunctions',
      code: `${HEAD}\ndeclare function checksum(data: Uint8Array): number;\nchecksum(bytes);`,
      options: [{ additionalFunctions: [{ from: 'file', name: 'checksum' }] }],
      errors: [
        {
          messageId: 'nativeProxy',
          data: { callee: 'checksum', why: 'listed in `additionalFunctions`' },
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
