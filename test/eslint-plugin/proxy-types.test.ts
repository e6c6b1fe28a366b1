/**
 * The detection module on its own, with a raw TypeScript program as the compiler
 * transformer uses it: an installed copy of the package's types, a look-alike
 * that must not count, and the same checks under TypeScript 5.9.
 */
import typescript from 'typescript';
import typescript5 from 'typescript5';
import { describe, expect, it } from 'vitest';
import { proxyTypes, type TypeScriptApi } from '../../src/analysis/proxy-types.js';

const TYPES = `declare const proxyBrand: unique symbol;
export interface ProxyBrand<out T> { readonly [proxyBrand]: T }
export type Proxy<T> = T & ProxyBrand<T>;
export type ProxyOr<T> = T | Proxy<T>;
declare const encodedBrand: unique symbol;
export interface Encoded<out T> { readonly [encodedBrand]: T }
`;

const MAIN = `import type { Proxy, ProxyOr, Encoded } from './node_modules/ts-proxystore/dist/src/types.js';
import type { Proxy as LookAlike, ProxyOr as LookAlikeOr } from '../look-alike/src/types.js';
interface Doc { id: string }
type Input<T> = ProxyOr<T> | undefined;
declare const real: Proxy<Doc>;
declare const maybe: Proxy<Doc> | undefined;
declare const lookAlike: LookAlike<Doc>;
declare const plain: Doc;
declare const nested: { a: { b: Map<string, Proxy<Doc>[]> } };
declare const fourDeep: { a: { b: { c: { d: Proxy<Doc> } } } };
declare const fiveDeep: { a: { b: { c: { d: { e: Proxy<Doc> } } } } };
declare const indexed: Record<string, Proxy<Doc>>;
declare const promised: Promise<Proxy<Doc>>;
declare const encoded: Encoded<{ p: Proxy<Doc> }>;
declare const callback: () => Proxy<Doc>;
declare function params<T>(
  annotated: ProxyOr<Doc>,
  aliased: Input<Doc>,
  proxied: Proxy<Doc>,
  generic: T,
  open: unknown,
  untyped,
  plainDoc: Doc,
  lookAlikeOr: LookAlikeOr<Doc>,
  ...rest: ProxyOr<Doc>[]
): void;
declare function plainRest(...docs: Doc[]): void;
`;

const FILES: Record<string, string> = {
  '/virtual/app/main.ts': MAIN,
  '/virtual/app/node_modules/ts-proxystore/dist/src/types.d.ts': TYPES,
  '/virtual/look-alike/src/types.d.ts': TYPES,
};

function programWith(api: TypeScriptApi): typescript.Program {
  const options: typescript.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: api.ScriptTarget.ES2022,
    module: api.ModuleKind.ESNext,
    moduleResolution: api.ModuleResolutionKind.Bundler,
    types: [],
  };
  const disk = api.createCompilerHost(options);
  const host: typescript.CompilerHost = {
    ...disk,
    getSourceFile: (name, language, ...rest) => {
      const text = FILES[name];
      return text === undefined ? disk.getSourceFile(name, language, ...rest) : api.createSourceFile(name, text, language);
    },
    fileExists: (name) => name in FILES || disk.fileExists(name),
    readFile: (name) => FILES[name] ?? disk.readFile(name),
    directoryExists: (name) => name.startsWith('/virtual') || (disk.directoryExists?.(name) ?? false),
  };
  return api.createProgram(['/virtual/app/main.ts'], options, host);
}

describe.each([
  ['TypeScript 6', typescript],
  ['TypeScript 5.9', typescript5 as unknown as TypeScriptApi],
])('proxy types under %s', (_, api) => {
  const program = programWith(api);
  const checker = program.getTypeChecker();
  const main = program.getSourceFile('/virtual/app/main.ts');
  if (main === undefined) throw new Error('main.ts is missing from the program');
  const proxies = proxyTypes(checker, api);

  const variables = new Map<string, typescript.VariableDeclaration>();
  const functions = new Map<string, typescript.FunctionDeclaration>();
  main.forEachChild(function collect(node: typescript.Node): void {
    if (api.isVariableDeclaration(node)) variables.set(node.name.getText(main), node);
    if (api.isFunctionDeclaration(node) && node.name !== undefined) functions.set(node.name.text, node);
    node.forEachChild(collect);
  });
  const found = <T>(map: Map<string, T>, name: string): T => {
    const value = map.get(name);
    if (value === undefined) throw new Error(`${name} is not declared in main.ts`);
    return value;
  };
  const typeOf = (name: string): typescript.Type => checker.getTypeAtLocation(found(variables, name).name);
  const parametersOf = (name: string): typescript.ParameterDeclaration[] => [...found(functions, name).parameters];

  it('has no type errors in the fixture, so the checks see real types', () => {
    const errors = api.getPreEmitDiagnostics(program as never, main as never).filter((d) => d.code !== 7006);
    expect(errors.map((d) => api.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  });

  it('finds proxies by the brand declared in an installed ts-proxystore', () => {
    expect(proxies.isProxy(typeOf('real'))).toBe(true);
    expect(proxies.isProxy(typeOf('maybe'))).toBe(true);
    expect(proxies.isProxy(typeOf('plain'))).toBe(false);
  });

  it('ignores a look-alike brand declared outside ts-proxystore', () => {
    expect(proxies.isProxy(typeOf('lookAlike'))).toBe(false);
    expect(proxies.containsProxy(typeOf('lookAlike'))).toBe(false);
  });

  it('finds proxies held in properties, elements, index signatures and type arguments, four levels deep', () => {
    for (const name of ['nested', 'fourDeep', 'indexed', 'promised']) expect([name, proxies.containsProxy(typeOf(name))]).toEqual([name, true]);
    expect(proxies.containsProxy(typeOf('fiveDeep'))).toBe(false);
  });

  it('treats encoded values and functions as holding no proxies', () => {
    expect(proxies.containsProxy(typeOf('encoded'))).toBe(false);
    expect(proxies.containsProxy(typeOf('callback'))).toBe(false);
  });

  it('knows which parameters accept proxies', () => {
    const accepted = Object.fromEntries(parametersOf('params').map((p) => [p.name.getText(main), proxies.acceptsProxy(p)]));
    expect(accepted).toEqual({
      annotated: true,
      aliased: true,
      proxied: true,
      generic: true,
      open: true,
      untyped: true,
      plainDoc: false,
      lookAlikeOr: false,
      rest: true,
    });
    expect(parametersOf('plainRest').map((p) => proxies.acceptsProxy(p))).toEqual([false]);
  });

  it('recognises ProxyOr annotations only from ts-proxystore', () => {
    const [annotated, , , , , , plainDoc, lookAlikeOr] = parametersOf('params');
    const annotation = (p: typescript.ParameterDeclaration | undefined): typescript.TypeNode => {
      if (p?.type === undefined) throw new Error('parameter without a type');
      return p.type;
    };
    expect(proxies.isProxyOrAnnotation(annotation(annotated))).toBe(true);
    expect(proxies.isProxyOrAnnotation(annotation(plainDoc))).toBe(false);
    expect(proxies.isProxyOrAnnotation(annotation(lookAlikeOr))).toBe(false);
  });
});
