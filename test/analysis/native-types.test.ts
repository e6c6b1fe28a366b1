/**
 * The shared "does this parameter need the real object" check, on a real
 * program compiled against TypeScript's lib and @types/node: calls users write
 * (the ones measured to misbehave with a proxy, and look-alikes that work),
 * and every lib and @types/node parameter declared with a binary or body type.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeTypes, type NativeTypes } from '../../src/analysis/native-types.js';

const REPO = path.resolve(import.meta.dirname, '../..');

/**
 * `/*@native Name of Declared*\/ arg`: the argument must be the real object, `Name` is the
 * built-in it lands in (`Name[]` when the list's elements must be real) and `Declared` the
 * parameter's type as written; `/*@none*\/ arg`: a proxy is fine there.
 * The brand stands in for this package's Proxy<T>: only assignability matters here.
 */
const CALLS = `
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as util from 'node:util';
import * as v8 from 'node:v8';
import { Worker } from 'node:worker_threads';

type Proxy<T> = T & { readonly __proxy: T };
type ProxyOr<T> = T | Proxy<T>;
declare const bytes: ProxyOr<Uint8Array<ArrayBuffer>>;
declare const buffer: ProxyOr<ArrayBuffer>;
declare const record: ProxyOr<Record<string, string>>;
declare const list: ProxyOr<number[]>;
declare const worker: Worker;
function mine(x: Uint8Array): number { return x.length; }

export async function calls(): Promise<void> {
  new TextDecoder().decode(/*@native ArrayBufferView of AllowSharedBufferSource*/ bytes);
  new TextEncoder().encodeInto('x', /*@native Uint8Array of Uint8Array<ArrayBufferLike>*/ bytes);
  new Blob(/*@native ArrayBufferView[] of BlobPart[]*/ [bytes]);
  await new Response(/*@native ArrayBufferView of BodyInit | null*/ bytes).text();
  ArrayBuffer.isView(/*@native ArrayBuffer.isView of any*/ bytes);
  structuredClone(/*@native structuredClone of T*/ bytes);
  Buffer.concat(/*@native Uint8Array[] of readonly Uint8Array[]*/ [bytes]);
  Buffer.byteLength(/*@native Uint8Array of string | NodeJS.ArrayBufferView | ArrayBufferLike*/ bytes);
  Buffer.isBuffer(/*@native Buffer.isBuffer of any*/ bytes);
  crypto.createHash('sha256').update(/*@native Uint8Array of BinaryLike*/ bytes);
  fs.writeFileSync('out.bin', /*@native Uint8Array of string | NodeJS.ArrayBufferView*/ bytes);
  new DataView(/*@native ArrayBuffer of TArrayBuffer*/ buffer);
  await crypto.subtle.digest('SHA-256', /*@native ArrayBufferView of BufferSource*/ bytes);
  util.types.isUint8Array(/*@native util.types.isUint8Array of unknown*/ bytes);
  worker.postMessage(/*@native Worker#postMessage of any*/ bytes);
  v8.serialize(/*@native v8.serialize of any*/ bytes);

  // Array-likes are read element by element through the proxy's traps: slow, but right.
  Buffer.from(/*@none*/ bytes);
  new Uint8Array(8).set(/*@none*/ bytes);
  JSON.stringify(/*@none*/ bytes);
  console.log(/*@none*/ bytes);
  Array.from(/*@none*/ bytes);
  Object.keys(/*@none*/ bytes);
  String(/*@none*/ bytes);
  util.types.isProxy(/*@none*/ bytes);
  new Set(/*@none*/ list);
  Math.max(.../*@none*/ list);
  await Promise.resolve(/*@none*/ bytes);
  new URLSearchParams(/*@none*/ record);
  mine(/*@none*/ bytes);
}
`;

let dir: string;
let program: ts.Program;
let natives: NativeTypes;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'native-types-'));
  fs.writeFileSync(path.join(dir, 'calls.ts'), CALLS);
  program = ts.createProgram({
    rootNames: [path.join(dir, 'calls.ts')],
    options: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      typeRoots: [path.join(REPO, 'node_modules/@types')],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
    },
  });
  natives = nativeTypes(ts, program);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function markedArguments(): { marker: string; call: string; argument: ts.Expression; index: number; node: ts.CallExpression | ts.NewExpression }[] {
  const file = program.getSourceFile(path.join(dir, 'calls.ts')) as ts.SourceFile;
  const found: ReturnType<typeof markedArguments> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      (node.arguments ?? []).forEach((argument, index) => {
        const comment = /\/\*@(native [^*]+|none)\*\//.exec(file.text.slice(argument.getFullStart(), argument.getStart(file) + 3));
        const target = ts.isSpreadElement(argument) ? argument.expression : argument;
        const marker = comment?.[1] ?? /\/\*@(native [^*]+|none)\*\//.exec(file.text.slice(target.getFullStart(), target.getStart(file)))?.[1];
        if (marker !== undefined) found.push({ marker, call: node.expression.getText(file), argument: target, index, node });
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe('nativeTypes', () => {
  it('compiles the sample against lib and @types/node without errors', () => {
    const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(errors).toEqual([]);
  });

  it('names the built-in each argument must be real for, and nothing where a proxy works', () => {
    const checker = program.getTypeChecker();
    const marked = markedArguments();
    expect(marked).toHaveLength(CALLS.match(/\/\*@(native [^*]+|none)\*\//g)?.length ?? -1);
    const answers = marked.map(({ call, argument, index, node }) => {
      const need = natives.argumentNeed(checker.getResolvedSignature(node) as ts.Signature, index, checker.getTypeAtLocation(argument));
      return `${call}: ${need === undefined ? 'none' : `native ${need.name}${need.inElements ? '[]' : ''} of ${need.declared}`}`;
    });
    expect(answers).toEqual(marked.map(({ call, marker }) => `${call}: ${marker}`));
  });

  it('a user function typed with a built-in type is not a built-in: its parameter type alone says native', () => {
    const checker = program.getTypeChecker();
    const mine = markedArguments().find((m) => m.call === 'mine');
    const signature = checker.getResolvedSignature(mine?.node as ts.CallExpression) as ts.Signature;
    expect(natives.argumentNeed(signature, 0)).toBeUndefined();
    const parameterType = checker.getTypeOfSymbolAtLocation(signature.getParameters()[0] as ts.Symbol, mine?.node as ts.Node);
    expect(natives.typeNeed(parameterType)).toEqual({ name: 'Uint8Array', inElements: false });
  });

  it('with the argument type, only union members the argument can land in count', () => {
    const checker = program.getTypeChecker();
    const params = markedArguments().find((m) => m.call === 'URLSearchParams');
    const signature = checker.getResolvedSignature(params?.node as ts.NewExpression) as ts.Signature;
    const declared = checker.getTypeOfSymbolAtLocation(signature.getParameters()[0] as ts.Symbol, params?.node as ts.Node);
    // Without the argument: the union holds URLSearchParams, a slot-checked type.
    expect(natives.typeNeed(declared)?.name).toBe('URLSearchParams');
    expect(natives.typeNeed(declared, checker.getTypeAtLocation(params?.argument as ts.Expression))).toBeUndefined();
  });

  /**
   * Every parameter that lib or @types/node declares with one of these names at
   * its top level (alone, in a union, or as an array's element).
   */
  const BINARY_OR_BODY =
    /^(?:NodeJS\.)?(?:ArrayBuffer|SharedArrayBuffer|ArrayBufferLike|ArrayBufferView|AllowSharedBufferSource|BufferSource|DataView|(?:Big)?(?:Int|Uint|Float)(?:8|16|32|64)(?:Clamped)?Array|TypedArray|Buffer|BinaryLike|Blob|BlobPart|BodyInit|XMLHttpRequestBodyInit|FormData|ReadableStream|KeyObject|CryptoKey)$/;

  function declaresBinary(node: ts.TypeNode): boolean {
    if (ts.isParenthesizedTypeNode(node)) return declaresBinary(node.type);
    if (ts.isUnionTypeNode(node)) return node.types.some(declaresBinary);
    if (ts.isArrayTypeNode(node)) return declaresBinary(node.elementType);
    if (ts.isTypeOperatorNode(node) && node.operator === ts.SyntaxKind.ReadonlyKeyword) return declaresBinary(node.type);
    return ts.isTypeReferenceNode(node) && BINARY_OR_BODY.test(node.typeName.getText());
  }

  it('covers every lib and @types/node parameter declared with a binary or body type', () => {
    const checker = program.getTypeChecker();
    const missed: string[] = [];
    let covered = 0;
    for (const file of program.getSourceFiles()) {
      if (!natives.isBuiltIn(file)) continue;
      const visit = (node: ts.Node): void => {
        if (ts.isParameter(node) && node.type !== undefined && declaresBinary(node.type)) {
          if (natives.typeNeed(checker.getTypeFromTypeNode(node.type)) === undefined) {
            const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
            missed.push(`${path.basename(file.fileName)}:${line + 1} ${node.getText(file)}`);
          } else covered++;
        }
        ts.forEachChild(node, visit);
      };
      visit(file);
    }
    expect(missed).toEqual([]);
    // lib.dom, lib.es5 and @types/node together declare several hundred such parameters.
    expect(covered).toBeGreaterThan(400);
  });
});
